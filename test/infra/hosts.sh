#!/usr/bin/env bash
# Three test hosts on this one machine for multi-node runs, each a real Slurm node: network namespaces joined by a
# bridge, each with its own hostname (UTS namespace), its own address and its own slurmd, registered with one
# slurmctld of a second cluster (its own config, ports and state; the single-node cluster of slurm.sh is untouched).
#
# Usage: bash test/infra/hosts.sh        up: bring up (quick when all is up), wait until `srun -N3 hostname`
#                                        answers with the three hostnames
#        bash test/infra/hosts.sh down   stop the daemons, delete the namespaces and the bridge
#        bash test/infra/hosts.sh env    print the SLURM_CONF line that points Slurm's commands at this cluster
#
#   namespace   hostname      address       runs
#   emfl-ctl    emflow-ctl    10.77.0.1     slurmctld (port 6827)
#   emfl-h1..3  emflow-h1..3  10.77.0.11-13 slurmd (port 6828); jobs and their steps run here
#   (root)      -             10.77.0.254   sbatch, squeue, … from the tests, over the bridge emfl-br0
# Traffic stays on the bridge (no route out). munged is the one of slurm.sh (its socket is a path, which every
# namespace reaches). Runs as root; fails loudly with the daemons' log tails.
set -euo pipefail

CONF_DIR=/etc/slurm-hosts
CONF=$CONF_DIR/slurm.conf
STATE=/var/lib/slurm-hosts
RUN=/run/slurm-hosts
LOGS=/var/log/slurm-hosts
BRIDGE=emfl-br0
NET=10.77.0
HOSTS=(emflow-h1 emflow-h2 emflow-h3)
WAIT_S=${EMFLOW_SLURM_WAIT_S:-90}

say() { printf 'hosts.sh: %s\n' "$*"; }
die() {
  printf 'test/infra/hosts.sh: FAILED: %s\n' "$*" >&2
  local f
  for f in "$LOGS"/*.log; do [ -f "$f" ] && { printf -- '--- last lines of %s\n' "$f" >&2; tail -12 "$f" >&2; }; done
  exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root"
command=${1:-up}

ns_of() { # hostname -> namespace
  case "$1" in emflow-ctl) echo emfl-ctl ;; *) echo "emfl-${1#emflow-}" ;; esac
}
addr_of() {
  case "$1" in emflow-ctl) echo "$NET.1" ;; emflow-h*) echo "$NET.1${1#emflow-h}" ;; esac
}
alive() { # pidfile command-name
  local pid
  [ -f "$1" ] && pid="$(cat "$1" 2>/dev/null)" && [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
stop_one() { # pidfile command-name
  local pid
  alive "$1" "$2" || { rm -f "$1"; return 0; }
  pid="$(cat "$1")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$1"
}
# every process still inside a namespace (job steps, agents, operators a test left): killed before the namespace goes
kill_inside() {
  local pids
  pids="$(ip netns pids "$1" 2>/dev/null || true)"
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}

down() {
  local h
  for h in "${HOSTS[@]}"; do stop_one "$RUN/slurmd-$h.pid" slurmd; done
  stop_one "$RUN/slurmctld.pid" slurmctld
  for h in emflow-ctl "${HOSTS[@]}"; do
    kill_inside "$(ns_of "$h")"
    ip netns del "$(ns_of "$h")" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  say "down: daemons stopped, namespaces and bridge deleted"
}

case "$command" in
  down) down; exit 0 ;;
  env) echo "SLURM_CONF=$CONF"; exit 0 ;;
  up) ;;
  *) die "unknown command '$command' (up, down or env)" ;;
esac

command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v srun >/dev/null \
  || die "Slurm is not installed: run test/infra/slurm.sh first (it installs Slurm and starts munged)"
munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || die "munged does not answer: run test/infra/slurm.sh first"
command -v ip >/dev/null || { { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq iproute2 >/dev/null; } || die "cannot install iproute2"; }

# ---- network: a bridge, one namespace per host, a veth pair each ---------------------------------------------------
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  ip addr add "$NET.254/24" dev "$BRIDGE"
fi
ip link set "$BRIDGE" up
for h in emflow-ctl "${HOSTS[@]}"; do
  ns="$(ns_of "$h")"
  ip netns list | grep -qw "^$ns" || ip netns add "$ns"
  if ! ip link show "veth-$ns" >/dev/null 2>&1; then
    ip link add "veth-$ns" type veth peer name eth0 netns "$ns"
    ip link set "veth-$ns" master "$BRIDGE" up
    ip -n "$ns" addr add "$(addr_of "$h")/24" dev eth0
  fi
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
done

# ---- slurm.conf of this cluster ---------------------------------------------------------------------------------
conf="# written by emflow's test/infra/hosts.sh (edit that, not this): three hosts in network namespaces
ClusterName=emflowhosts
SlurmctldHost=emflow-ctl($NET.1)
SlurmctldPort=6827
SlurmdPort=6828
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MinJobAge=300
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd-%n
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd-%n.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
DefMemPerCPU=1000
$(for h in "${HOSTS[@]}"; do echo "NodeName=$h NodeAddr=$(addr_of "$h") CPUs=2 RealMemory=4000 State=UNKNOWN"; done)
PartitionName=hosts Nodes=$(IFS=,; echo "${HOSTS[*]}") Default=YES MaxTime=INFINITE State=UP
"
install -d -m 0755 "$CONF_DIR" "$LOGS" "$RUN" "$STATE/slurmctld"
for h in "${HOSTS[@]}"; do install -d -m 0755 "$STATE/slurmd-$h"; done
restart=
if ! printf '%s' "$conf" | cmp -s - "$CONF"; then
  printf '%s' "$conf" >"$CONF.new"
  mv "$CONF.new" "$CONF"
  restart=1
fi
if [ -n "$restart" ]; then
  for h in "${HOSTS[@]}"; do stop_one "$RUN/slurmd-$h.pid" slurmd; done
  stop_one "$RUN/slurmctld.pid" slurmctld
fi

# ---- daemons, each in its namespace under its own hostname ---------------------------------------------------------
in_host() { # hostname command...: run inside the host's network and UTS namespaces
  local h=$1
  shift
  # nsenter, not `ip netns exec`, which mounts a fresh /sys without the cgroup hierarchy slurmd needs
  nsenter --net="/run/netns/$(ns_of "$h")" unshare --uts sh -c 'hostname "$0" && exec "$@"' "$h" "$@"
}
export SLURM_CONF=$CONF
if ! alive "$RUN/slurmctld.pid" slurmctld; then
  in_host emflow-ctl slurmctld -c -f "$CONF" || die "slurmctld did not start"
  say "started slurmctld in emfl-ctl"
fi
for h in "${HOSTS[@]}"; do
  if ! alive "$RUN/slurmd-$h.pid" slurmd; then
    in_host "$h" slurmd -f "$CONF" || die "slurmd did not start on $h"
    say "started slurmd on $h"
  fi
done

# ---- wait until the three nodes take jobs -------------------------------------------------------------------------
deadline=$(( $(date +%s) + WAIT_S ))
while :; do
  states="$(sinfo -h -N -p hosts -o '%N %T' 2>/dev/null || true)"
  ready=0
  for h in "${HOSTS[@]}"; do
    state="$(echo "$states" | awk -v h="$h" '$1 == h { print $2 }')"
    case "$state" in
      idle|mixed|allocated|completing) ready=$((ready + 1)) ;;
      drain*|down*) scontrol update NodeName="$h" State=RESUME >/dev/null 2>&1 || true ;;
    esac
  done
  [ "$ready" = "${#HOSTS[@]}" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || die "the hosts are not up after ${WAIT_S} s (sinfo: $(echo "$states" | tr '\n' ';'))"
  sleep 0.5
done
answer="$(timeout 60 srun -N3 -p hosts --quiet hostname 2>&1 | sort | tr '\n' ' ')" || die "srun -N3 hostname failed: $answer"
[ "$answer" = "emflow-h1 emflow-h2 emflow-h3 " ] || die "srun -N3 hostname answered '$answer', not the three hosts"
say "srun -N3 hostname answered: $answer(SLURM_CONF=$CONF)"
