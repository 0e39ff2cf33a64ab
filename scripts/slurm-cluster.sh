#!/usr/bin/env bash
# scripts/slurm-cluster.sh — a real Slurm cluster on loopback, for tests and benchmarks:
# munge, slurmctld, always-on GPU nodes and elastic (State=CLOUD) GPU nodes, each node its
# own slurmd on this host. Slurm's power saving boots an elastic node (ResumeProgram: its
# slurmd after a set delay, the cold start) when work is queued for it and stops it
# (SuspendProgram) after SuspendTime idle seconds (the scale-down window).
#
#   scripts/slurm-cluster.sh start DIR [--always N] [--elastic N] [--boot-s S] [--suspend-s S]
#   scripts/slurm-cluster.sh stop DIR
#
# `start` installs what is missing (scripts/setup.sh: slurmctld, slurmd, slurm-client,
# munge), writes DIR/slurm.conf, starts the daemons as root without systemd, waits until
# the always-on nodes are idle, writes DIR/cluster.json (reelscale's cluster file for these
# nodes) and prints `export SLURM_CONF=DIR/slurm.conf` and how to use both (the rest as
# comments: `eval "$(scripts/slurm-cluster.sh start DIR)"` sets it). `stop` ends
# every process it started (they all name DIR) and leaves DIR for the logs.
# Nodes: gpu1..gpuN (always on), cloud1..cloudM (elastic), each with one GPU (GRES on a
# dummy character device) and 2 CPUs. Partitions: "gpu" (every node, the default),
# "always" and "elastic". Records of every finished task: DIR/jobcomp.txt
# (jobcomp/filetxt; no slurmdbd). Power events: DIR/power.log.
set -euo pipefail

usage() { echo "usage: $0 start DIR [--always N] [--elastic N] [--boot-s S] [--suspend-s S] | stop DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
command="$1"
dir="$(mkdir -p "$2" && cd "$2" && pwd)"
shift 2
always=2 elastic=2 boot_s=5 suspend_s=20
while [ $# -gt 0 ]; do
  case "$1" in
    --always) always="$2"; shift 2 ;;
    --elastic) elastic="$2"; shift 2 ;;
    --boot-s) boot_s="$2"; shift 2 ;;
    --suspend-s) suspend_s="$2"; shift 2 ;;
    *) usage ;;
  esac
done

# Every process the cluster runs names a file in $dir on its command line.
cluster_pids() { pgrep -f -- "$dir/(slurm\.conf|munge/|start-node\.sh)" || true; }

stop_cluster() {
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
      echo "NodeName=$node NodeHostname=localhost NodeAddr=127.0.0.1 Port=${ports[$i]} CPUs=2 RealMemory=2000 Gres=gpu:1 State=$state"
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
  echo "# Then, with the cluster file that fits these nodes (class T4: partition gpu, gres gpu:1, 2 CPUs):"
  echo "#   reelscale run --executor slurm --cluster $dir/cluster.json job.json"
  echo "#   reelscale serve --executor slurm --cluster $dir/cluster.json --worker-hardware T4 ..."
}

# DIR/cluster.json: reelscale's cluster file for the nodes started here: one class, T4 (the
# dummy GPU), on partition gpu, a task taking a whole node (2 CPUs and its one GRES).
write_cluster_file() {
  cat >"$dir/cluster.json" <<CLUSTER
{
  "classes": {"T4": {"partition": "gpu", "gres": "gpu:1", "cores": 2, "usd_per_hour": 0.526, "nodes": $((always + elastic))}},
  "task_log": "$dir/log/task-%A_%a.log",
  "poll_s": 0.5,
  "suspend_time_s": $suspend_s
}
CLUSTER
}

case "$command" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
