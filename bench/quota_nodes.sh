#!/usr/bin/env bash
# bench/quota_nodes.sh — how independent CPU-quota "nodes" are on this machine (issue 30): each
# node is a cgroup with a CFS quota of C cores (cgroup v1 `cpu` where the host has it, else v2
# `cpu.max`), and one node's work is a chunk-like transcode (the ffmpeg CLI, one thread:
# decode, scale, x264 veryfast). For each quota and period it times the chunk alone on one
# node, then on each of N nodes at once (N = 2, 4, 8), REPEATS times each, and prints the
# median slowdown against alone; a node layout is usable for the N = 1/2/4/8 experiment where
# every N stays within 10 %.
#   bench/quota_nodes.sh [--quotas 0.25,0.2,0.125] [--periods-ms 100,20] [--nodes 2,4,8] [--repeats 3]
# Needs root (it makes and removes cgroups named reelscale-quota-*).
set -euo pipefail
cd "$(dirname "$0")/.."

quotas=0.25,0.2,0.125 periods=100,20 counts=2,4,8 repeats=3
while [ $# -gt 0 ]; do
  case "$1" in
    --quotas) quotas="$2"; shift 2 ;;
    --periods-ms) periods="$2"; shift 2 ;;
    --nodes) counts="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    *) echo "usage: $0 [--quotas C,...] [--periods-ms P,...] [--nodes N,...] [--repeats R]" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d /tmp/reelscale-quota-XXXXXX)"
v1=/sys/fs/cgroup/cpu
if [ -w "$v1" ] && [ -e "$v1/cpu.cfs_quota_us" ]; then mode=v1; else mode=v2; fi
groups=()
cleanup() {
  for g in "${groups[@]}"; do
    if [ "$mode" = v1 ]; then rmdir "$v1/$g" 2>/dev/null || true; else rmdir "/sys/fs/cgroup/$g" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# One node: a cgroup of `quota` cores over `period_us`.
make_node() {
  local name="reelscale-quota-$1" quota_us="$2" period_us="$3"
  if [ "$mode" = v1 ]; then
    mkdir -p "$v1/$name"
    echo "$period_us" >"$v1/$name/cpu.cfs_period_us"
    echo "$quota_us" >"$v1/$name/cpu.cfs_quota_us"
  else
    mkdir -p "/sys/fs/cgroup/$name"
    echo "$quota_us $period_us" >"/sys/fs/cgroup/$name/cpu.max"
  fi
  groups+=("$name")
}
tasks_file() { if [ "$mode" = v1 ]; then echo "$v1/reelscale-quota-$1/tasks"; else echo "/sys/fs/cgroup/reelscale-quota-$1/cgroup.procs"; fi; }

# The chunk: 2 s of 640x360 (60 frames) decoded, scaled to 404x720 and encoded, one thread.
ffmpeg -v error -y -f lavfi -i testsrc2=s=640x360:r=30:d=2 -c:v libx264 -preset veryfast -g 30 "$work/clip.mp4"
chunk() {  # node index; prints seconds
  bash -c "echo \$\$ > $(tasks_file "$1"); t0=\$(date +%s.%N); ffmpeg -v error -threads 1 -i $work/clip.mp4 \
    -threads 1 -vf scale=404:720 -c:v libx264 -preset veryfast -f null - </dev/null; t1=\$(date +%s.%N); \
    awk -v a=\$t0 -v b=\$t1 'BEGIN {printf \"%.3f\\n\", b - a}'"
}
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "cgroup $mode, $(nproc) cores, $(date -u +%F), ffmpeg $(ffmpeg -version | head -1 | cut -d' ' -f3)"
echo
echo "| quota (cores) | period | alone s | 2 at once | 4 at once | 8 at once |"
echo "|---|---|---|---|---|---|"
IFS=, read -r -a quota_list <<<"$quotas"
IFS=, read -r -a period_list <<<"$periods"
IFS=, read -r -a count_list <<<"$counts"
for q in "${quota_list[@]}"; do
  for p in "${period_list[@]}"; do
    period_us=$((p * 1000))
    quota_us=$(awk -v q="$q" -v p="$period_us" 'BEGIN {printf "%d", q * p}')
    for i in $(seq 0 7); do make_node "$i" "$quota_us" "$period_us"; done
    alone=$(for _ in $(seq "$repeats"); do chunk 0; done | median)
    row="| $q | $p ms | $alone"
    for n in "${count_list[@]}"; do
      ratios=()
      for _ in $(seq "$repeats"); do
        for i in $(seq 0 $((n - 1))); do chunk "$i" >"$work/t$i" & done
        wait
        # The slowest node of the round against alone: what a job of n chunks waits for.
        slowest=$(cat "$work"/t* | sort -g | tail -1)
        rm -f "$work"/t*
        ratios+=("$(awk -v s="$slowest" -v a="$alone" 'BEGIN {printf "%.3f", s / a}')")
      done
      r=$(printf '%s\n' "${ratios[@]}" | median)
      row="$row | $(awk -v r="$r" 'BEGIN {printf "%+.0f %%", (r - 1) * 100}')"
    done
    echo "$row |"
  done
done
