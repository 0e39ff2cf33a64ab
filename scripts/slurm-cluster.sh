#!/usr/bin/env bash
# scripts/slurm-cluster.sh — a real Slurm cluster on loopback, for tests and benchmarks:
# munge, slurmctld, always-on GPU nodes and elastic (State=CLOUD) GPU nodes, each node its
# own slurmd on this host. Slurm's power saving boots an elastic node (ResumeProgram: its
# slurmd after a set delay, the cold start) when work is queued for it and stops it
# (SuspendProgram) after SuspendTime idle seconds (the scale-down window).
#
#   scripts/slurm-cluster.sh start DIR [--always N] [--elastic N] [--boot-s S] [--suspend-s S]
#                                      [--node-cpus C [--node-period-ms P]]
#   scripts/slurm-cluster.sh stop DIR
#
# `start` installs what is missing (scripts/setup.sh: slurmctld, slurmd, slurm-client,
# munge), writes DIR/slurm.conf, starts the daemons as root without systemd, waits until
# the always-on nodes are idle, writes DIR/cluster.json (reelscale's cluster file for these
# nodes) and prints `export SLURM_CONF=DIR/slurm.conf` and how to use both (the rest as
# comments: `eval "$(scripts/slurm-cluster.sh start DIR)"` sets it). `stop` ends
# every process it started (they all name DIR) and leaves DIR for the logs.
# Nodes: gpu1..gpuN (always on), cloud1..cloudM (elastic), each with one GPU (GRES on a
# dummy character device) and 2 CPUs. With --node-cpus C every node is a machine of its own
# size: its slurmd, and so every task it starts, runs in a CPU cgroup of its own with a
# CFS quota of C cores over P ms (100 by default; cgroup v1 `cpu` where the host has it,
# else v2 `cpu.max`; needs root), and the node declares CPUs=ceil(C). `stop` removes the
# cgroups. Partitions: "gpu" (every node, the default),
# "always" and "elastic". Records of every finished task: DIR/jobcomp.txt
# (jobcomp/filetxt; no slurmdbd). Power events: DIR/power.log.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [--always N] [--elastic N] [--boot-s S] [--suspend-s S] [--node-cpus C [--node-period-ms P]] | stop DIR" >&2
  exit 2
}
[ $# -ge 2 ] || usage
command="$1"
dir="$(mkdir -p "$2" && cd "$2" && pwd)"
shift 2
always=2 elastic=2 boot_s=5 suspend_s=20 node_cpus="" node_period_ms=100
while [ $# -gt 0 ]; do
  case "$1" in
    --always) always="$2"; shift 2 ;;
    --elastic) elastic="$2"; shift 2 ;;
    --boot-s) boot_s="$2"; shift 2 ;;
    --suspend-s) suspend_s="$2"; shift 2 ;;
    --node-cpus) node_cpus="$2"; shift 2 ;;
    --node-period-ms) node_period_ms="$2"; shift 2 ;;
    *) usage ;;
  esac
done

if [ -n "$node_cpus" ] && ! awk -v c="$node_cpus" 'BEGIN {exit !(c > 0 && c <= 1024)}'; then
  echo "slurm-cluster: --node-cpus must be a number of cores above 0 (e.g. 0.25), not '$node_cpus'" >&2
  exit 2
fi
# The CPUs a node declares: its share rounded up (2 without a share).
node_cpu_count() { if [ -n "$node_cpus" ]; then awk -v c="$node_cpus" 'BEGIN {n = int(c); if (n < c) n++; print n}'; else echo 2; fi; }

# The nodes' CPU cgroups: one folder per cluster (named after DIR), one per node below it.
cgroup_v1=/sys/fs/cgroup/cpu
cgroup_top() {
  local name="reelscale-nodes-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)"
  if [ -e "$cgroup_v1/cpu.cfs_quota_us" ]; then echo "$cgroup_v1/$name"; else echo "/sys/fs/cgroup/$name"; fi
}

# A cgroup for each node, its quota node_cpus cores over node_period_ms; DIR/cgroups names
# the folder (start-node.sh puts the node's slurmd there, `stop` removes it).
make_node_cgroups() {
  local top period_us quota_us node
  top="$(cgroup_top)"
  period_us=$((node_period_ms * 1000))
  quota_us=$(awk -v c="$node_cpus" -v p="$period_us" 'BEGIN {printf "%d", c * p}')
  if [[ "$top" == "$cgroup_v1"/* ]]; then
    mkdir -p "$top"
  else
    grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null || { echo "slurm-cluster: no cgroup cpu controller here (v1 or v2)" >&2; return 1; }
    echo +cpu >/sys/fs/cgroup/cgroup.subtree_control
    mkdir -p "$top"
    echo +cpu >"$top/cgroup.subtree_control"
  fi
  for node in $(node_names); do
    mkdir -p "$top/$node"
    if [[ "$top" == "$cgroup_v1"/* ]]; then
      echo "$period_us" >"$top/$node/cpu.cfs_period_us"
      echo "$quota_us" >"$top/$node/cpu.cfs_quota_us"
    else
      echo "$quota_us $period_us" >"$top/$node/cpu.max"
    fi
  done
  echo "$top" >"$dir/cgroups"
}

remove_node_cgroups() {
  [ -f "$dir/cgroups" ] || return 0
  local top
  top="$(cat "$dir/cgroups")"
  for _ in $(seq 50); do
    # Whatever still runs on a node (a task's processes) ends with the node.
    cat "$top"/*/tasks "$top"/*/cgroup.procs 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    rmdir "$top"/*/ 2>/dev/null || true
    rmdir "$top" 2>/dev/null && break
    sleep 0.1
  done
  [ -d "$top" ] && echo "slurm-cluster: could not remove $top (a process is still in it)" >&2
  rm -f "$dir/cgroups"
}

# Every process the cluster runs names a file in $dir on its command line.
cluster_pids() { pgrep -f -- "$dir/(slurm\.conf|munge/|start-node\.sh)" || true; }

stop_cluster() {
  end_cluster_processes
  remove_node_cgroups
}

end_cluster_processes() {
  local pids
  pids="$(cluster_pids)"
  [ -n "$pids" ] && kill $pids 2>/dev/null || true
  for _ in $(seq 50); do
    [ -z "$(cluster_pids)" ] && return 0
    sleep 0.1
  done
  pids="$(cluster_pids)"
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
}

free_ports() {  # N free loopback TCP ports
  /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

node_names() {
  local i
  for i in $(seq "$always"); do echo "gpu$i"; done
  for i in $(seq "$elastic"); do echo "cloud$i"; done
}

start_munge() {
  mkdir -p "$dir/munge"
  chmod 700 "$dir/munge"
  [ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  chmod 600 "$dir/munge/munge.key"
  munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
}

# The node's slurmd, its blocked signals cleared (one started by ResumeProgram inherits
# slurmctld's mask and would ignore SIGTERM).
write_node_starter() {
  cat >"$dir/start-node.sh" <<EOF
#!/bin/bash
# Starts node \$1's slurmd after \$2 seconds (the cold start of an elastic node).
sleep "\${2:-0}"
mkdir -p "$dir/spool/\$1"
# A quota node: this process, its slurmd and every task that starts, in the node's cgroup.
if [ -f "$dir/cgroups" ]; then
  top=\$(cat "$dir/cgroups")
  if [ -e "\$top/\$1/tasks" ]; then echo \$\$ >"\$top/\$1/tasks"; else echo \$\$ >"\$top/\$1/cgroup.procs"; fi
fi
# Its own time namespace with the boot clock at zero: the node reports a boot time after
# the resume request, as a machine that just booted does (slurmctld waits for that).
uptime_s=\$(cut -d. -f1 /proc/uptime)
exec unshare --time --boottime "-\$((uptime_s - 1))" \\
  perl -MPOSIX -e 'sigprocmask(SIG_SETMASK, POSIX::SigSet->new()); \$SIG{\$_} = "DEFAULT" for keys %SIG; exec @ARGV or die "exec: \$!"' \\
  /usr/sbin/slurmd -f "$dir/slurm.conf" -N "\$1"
EOF
  cat >"$dir/resume.sh" <<EOF
#!/bin/bash
# ResumeProgram: boots each named node (a host list) after $boot_s s.
for node in \$(scontrol -f "$dir/slurm.conf" show hostnames "\$1" 2>/dev/null || SLURM_CONF="$dir/slurm.conf" scontrol show hostnames "\$1"); do
  echo "\$(date +%s.%N) resume \$node" >>"$dir/power.log"
  setsid "$dir/start-node.sh" "\$node" "$boot_s" </dev/null >>"$dir/log/boot-\$node.log" 2>&1 &
done
EOF
  cat >"$dir/suspend.sh" <<EOF
#!/bin/bash
# SuspendProgram: stops each named node's slurmd (a host list).
for node in \$(SLURM_CONF="$dir/slurm.conf" scontrol show hostnames "\$1"); do
  echo "\$(date +%s.%N) suspend \$node" >>"$dir/power.log"
  pkill -f -- "slurmd -f $dir/slurm.conf -N \$node\\\$" || true
  pkill -f -- "start-node.sh \$node " || true
done
EOF
  chmod +x "$dir/start-node.sh" "$dir/resume.sh" "$dir/suspend.sh"
}

write_config() {
  local nodes ports ctl_port i=0 node
  mapfile -t nodes < <(node_names)
  read -r -a ports <<<"$(free_ports $((${#nodes[@]} + 1)))"
  ctl_port="${ports[0]}"
  mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/dev"
  : >"$dir/gres.conf"
  {
    cat <<EOF
# Written by scripts/slurm-cluster.sh: a loopback cluster of ${#nodes[@]} nodes on one host.
ClusterName=reelscale
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/spool/%n/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
GresTypes=gpu
ReturnToService=2
PrivateData=cloud
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
ResumeProgram=$dir/resume.sh
SuspendProgram=$dir/suspend.sh
ResumeTimeout=$((boot_s + 60))
SuspendTime=$suspend_s
SuspendTimeout=10
ResumeRate=0
SuspendRate=0
BatchStartTimeout=30
EOF
    [ "$always" -gt 0 ] && echo "SuspendExcNodes=gpu[1-$always]"
    for node in "${nodes[@]}"; do
      i=$((i + 1))
      local state=UNKNOWN
      [[ "$node" == cloud* ]] && state=CLOUD
      echo "NodeName=$node NodeHostname=localhost NodeAddr=127.0.0.1 Port=${ports[$i]} CPUs=$(node_cpu_count) RealMemory=2000 Gres=gpu:1 State=$state"
      mknod "$dir/dev/gpu-$node" c 1 3 2>/dev/null || [ -c "$dir/dev/gpu-$node" ]
      echo "NodeName=$node Name=gpu File=$dir/dev/gpu-$node" >>"$dir/gres.conf"
    done
    echo "PartitionName=gpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    [ "$always" -gt 0 ] && echo "PartitionName=always Nodes=gpu[1-$always] MaxTime=INFINITE State=UP"
    [ "$elastic" -gt 0 ] && echo "PartitionName=elastic Nodes=cloud[1-$elastic] MaxTime=INFINITE State=UP"
    true
  } >"$dir/slurm.conf"
}

wait_for_nodes() {
  export SLURM_CONF="$dir/slurm.conf"
  for _ in $(seq 300); do
    local idle
    idle="$(sinfo -h -N -n "gpu[1-$always]" -t idle -o '%N' 2>/dev/null | sort -u | wc -l)"
    [ "$idle" -ge "$always" ] && return 0
    sleep 0.2
  done
  echo "slurm-cluster: the always-on nodes did not come up; see $dir/log" >&2
  sinfo -N -l >&2 || true
  return 1
}

start_cluster() {
  [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ] || "$(dirname "$0")/setup.sh" >&2
  stop_cluster
  start_munge
  rm -f "$dir/cgroups"
  [ -z "$node_cpus" ] || make_node_cgroups
  write_config
  write_node_starter
  : >"$dir/power.log"
  /usr/sbin/slurmctld -f "$dir/slurm.conf" -c -i
  local node
  for node in $(node_names | grep '^gpu' || true); do
    "$dir/start-node.sh" "$node" 0 </dev/null >>"$dir/log/boot-$node.log" 2>&1 &
  done
  [ "$always" -eq 0 ] || wait_for_nodes
  write_cluster_file
  echo "export SLURM_CONF=$dir/slurm.conf"
  echo "# Then, with the cluster file that fits these nodes (class T4: partition gpu, gres gpu:1, $(node_cpu_count) CPUs${node_cpus:+, a quota of $node_cpus cores}):"
  echo "#   reelscale run --executor slurm --cluster $dir/cluster.json job.json"
  echo "#   reelscale serve --executor slurm --cluster $dir/cluster.json --worker-hardware T4 ..."
}

# DIR/cluster.json: reelscale's cluster file for the nodes started here: one class, T4 (the
# dummy GPU), on partition gpu, a task taking a whole node (its CPUs and its one GRES), and
# how an elastic node starts: its boot (the ResumeProgram's delay) and slurmctld's periodic
# check, which starts a job on a node that came up (every 30 s in Slurm 22.05).
write_cluster_file() {
  local quota=""
  [ -z "$node_cpus" ] || quota=", \"cpu_quota\": $node_cpus"
  cat >"$dir/cluster.json" <<CLUSTER
{
  "classes": {"T4": {"partition": "gpu", "gres": "gpu:1", "cores": $(node_cpu_count), "usd_per_hour": 0.526, "nodes": $((always + elastic))$quota}},
  "task_log": "$dir/log/task-%A_%a.log",
  "poll_s": 0.5,
  "suspend_time_s": $suspend_s,
  "boot_s": $boot_s,
  "controller_check_s": 30
}
CLUSTER
}

case "$command" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
