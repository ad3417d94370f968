#!/usr/bin/env bash
# Real Slurm on this one machine (Debian 12's 22.05), for the tests that start operators as job steps.
# Usage: bash test/infra/slurm.sh          install (when missing), configure, start munged/slurmctld/slurmd when
#                                          not running (restart them when the config changed), wait until the
#                                          node is up and `srun -N1 hostname` answers; quick when all is up
#        bash test/infra/slurm.sh stop     stop the three daemons
#        bash test/infra/slurm.sh check    set up, then verify sbatch, salloc + srun --overlap, --mem,
#                                          --cpus-per-task and scancel, with timings (README.md reports them)
# Runs as root. Daemons talk over loopback only (the node's address is 127.0.0.1). Fails loudly, with the
# daemons' log tails, when something cannot be brought up.
set -euo pipefail

CONF=/etc/slurm/slurm.conf
LOGS=/var/log/slurm
CTLD_LOG=$LOGS/slurmctld.log
SLURMD_LOG=$LOGS/slurmd.log
MUNGE_LOG=/var/log/munge/munged.log
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_PID=/run/munge/munged.pid
WAIT_S=${EMFLOW_SLURM_WAIT_S:-90}

say() { printf 'slurm.sh: %s\n' "$*"; }
now_ms() { date +%s%3N; }
logs() {
  local f
  for f in "$CTLD_LOG" "$SLURMD_LOG" "$MUNGE_LOG"; do
    [ -f "$f" ] && { printf -- '--- last lines of %s\n' "$f" >&2; tail -15 "$f" >&2; }
  done
  return 0
}
die() { printf 'test/infra/slurm.sh: FAILED: %s\n' "$*" >&2; logs; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"
started=$(now_ms)
command=${1:-up}

# ---- processes we started, found by their pid files (never by name) -------------------------------------------
alive() { # pidfile command-name
  local pid
  [ -f "$1" ] && pid="$(cat "$1" 2>/dev/null)" && [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}
stop_one() { # pidfile command-name
  local pid i
  alive "$1" "$2" || { rm -f "$1"; return 0; }
  pid="$(cat "$1")"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
  if [ -d "/proc/$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
  rm -f "$1"
  say "stopped $2 (pid $pid)"
}
stop_all() {
  stop_one "$SLURMD_PID" slurmd
  stop_one "$CTLD_PID" slurmctld
  stop_one "$MUNGE_PID" munged
}

if [ "$command" = stop ]; then
  stop_all
  exit 0
fi
[ "$command" = up ] || [ "$command" = check ] || die "unknown command '$command' (up, stop or check)"

# ---- packages --------------------------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v srun >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq slurmctld slurmd slurm-client munge >/dev/null; } \
    || die "apt-get install slurmctld slurmd slurm-client munge failed"
fi

# ---- munge -----------------------------------------------------------------------------------------------------
restart_munge=
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  say "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force; else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
  restart_munge=1
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key

# ---- slurm.conf: this machine's node, all its CPUs, its memory minus headroom -------------------------------------
node="$(hostname -s)"
cpus="$(nproc)"
# sockets/cores/threads as slurmd sees them, when they multiply to nproc (else CPUs alone)
topology="$(slurmd -C 2>/dev/null | head -1 | grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' || true)"
if [ -n "$topology" ]; then
  product=1
  for n in $(echo "$topology" | grep -o '=[0-9]*' | tr -d =); do product=$((product * n)); done
  [ "$product" = "$cpus" ] || topology=
fi
total_mb=$(( $(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 ))
# headroom for the system and the tests themselves: 10%, at least 1 GiB
headroom_mb=$(( total_mb / 10 > 1024 ? total_mb / 10 : 1024 ))
memory_mb=$(( total_mb - headroom_mb ))
[ "$memory_mb" -gt 512 ] || die "only ${total_mb} MB of memory: not enough for a Slurm node"
conf="# written by emflow's test/infra/slurm.sh (edit that, not this): one node, one partition, loopback only
ClusterName=emflow
SlurmctldHost=${node}(127.0.0.1)
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
KillWait=10
MinJobAge=300
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
# a job that asks no --mem gets its CPUs' share of the node's memory (not all of it)
DefMemPerCPU=$(( memory_mb / cpus ))
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus}${topology:+ $topology} RealMemory=${memory_mb} State=UNKNOWN
PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP
"
install -d -m 0755 /etc/slurm "$LOGS" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
restart_slurm=
if ! printf '%s' "$conf" | cmp -s - "$CONF"; then
  printf '%s' "$conf" >"$CONF.new"
  mv "$CONF.new" "$CONF"
  say "wrote $CONF (node $node: CPUs=$cpus RealMemory=${memory_mb} MB, partition debug)"
  restart_slurm=1
fi

# ---- daemons ---------------------------------------------------------------------------------------------------
if [ -n "$restart_munge" ]; then stop_one "$MUNGE_PID" munged; restart_slurm=1; fi
if [ -n "$restart_slurm" ]; then stop_one "$SLURMD_PID" slurmd; stop_one "$CTLD_PID" slurmctld; fi

if ! alive "$MUNGE_PID" munged; then
  rm -f "$MUNGE_PID" /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock
  # munged daemonizes and writes its pid file once its socket is up
  runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PID" --log-file="$MUNGE_LOG" || die "munged did not start"
  say "started munged (pid $(cat "$MUNGE_PID" 2>/dev/null))"
fi
for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || die "munge credentials do not round-trip (munge -n | unmunge)"

if ! alive "$CTLD_PID" slurmctld; then
  # -c: start from a clean state (no jobs or drained node left from an earlier run on this machine)
  slurmctld -c || die "slurmctld did not start"
  say "started slurmctld"
fi
if ! alive "$SLURMD_PID" slurmd; then
  slurmd || die "slurmd did not start"
  say "started slurmd"
fi

# ---- wait until the node takes jobs -----------------------------------------------------------------------------
deadline=$(( $(date +%s) + WAIT_S ))
state=
while :; do
  state="$(sinfo -h -N -n "$node" -o '%T' 2>/dev/null | head -1 || true)"
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    drained*|draining*|drain*|down*)
      # left from an earlier run (ReturnToService=2 brings a DOWN node back, not a drained one)
      scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || die "node $node is not up after ${WAIT_S} s (sinfo state: '${state:-no answer}')"
  sleep 0.5
done
answer="$(timeout 60 srun -N1 --quiet hostname 2>&1)" || die "srun -N1 hostname failed: $answer"
[ "$answer" = "$(hostname)" ] || die "srun -N1 hostname answered '$answer', not '$(hostname)'"
say "node $node is $state; srun -N1 hostname answered; ready in $(( $(now_ms) - started )) ms"

[ "$command" = check ] || exit 0

# ---- check: what the engine's Slurm support relies on ---------------------------------------------------------
say "checking sbatch, salloc + srun --overlap, --mem, --cpus-per-task, scancel"
work="$(mktemp -d /tmp/emflow-slurm-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cd "$work"
t=$(now_ms); srun -N1 --quiet hostname >/dev/null || die "srun"; say "srun -N1 hostname: $(( $(now_ms) - t )) ms"
t=$(now_ms)
job="$(sbatch --parsable --output="$work/out-%j.txt" --wrap 'hostname')" || die "sbatch --wrap hostname was refused"
for _ in $(seq 1 300); do [ -s "$work/out-$job.txt" ] && ! squeue -h -j "$job" 2>/dev/null | grep -q . && break; sleep 0.1; done
[ "$(cat "$work/out-$job.txt" 2>/dev/null)" = "$(hostname)" ] || die "sbatch job $job: output file out-$job.txt holds '$(cat "$work/out-$job.txt" 2>/dev/null)'"
say "sbatch --wrap hostname: job $job done, output file written: $(( $(now_ms) - t )) ms"
t=$(now_ms)
out="$(salloc -N1 --cpus-per-task=2 --mem=1G --quiet srun --overlap --exact -n1 --cpus-per-task=1 --mem=512M --quiet bash -c 'echo "$SLURM_JOB_ID $SLURM_CPUS_PER_TASK $SLURM_MEM_PER_NODE"' 2>&1)" || die "salloc + srun --overlap: $out"
say "salloc --cpus-per-task=2 --mem=1G, then srun --overlap --exact --cpus-per-task=1 --mem=512M: '$out' ($(( $(now_ms) - t )) ms)"
job="$(sbatch --parsable --cpus-per-task=1 --mem=256M --output="$work/steps-%j.txt" --wrap 'srun --overlap --exact -n1 --mem=128M --quiet sh -c "echo step-ok" & srun --overlap --exact -n1 --mem=128M --quiet sh -c "echo step-ok"; wait')" || die "sbatch with steps was refused"
for _ in $(seq 1 300); do squeue -h -j "$job" 2>/dev/null | grep -q . || break; sleep 0.1; done
[ "$(grep -c step-ok "$work/steps-$job.txt" 2>/dev/null)" = 2 ] || die "two overlapping steps in sbatch job $job: $(cat "$work/steps-$job.txt" 2>/dev/null)"
say "sbatch with two concurrent srun --overlap steps inside: ok"
job="$(sbatch --parsable --output=/dev/null --wrap 'sleep 600')" || die "sbatch sleep was refused"
for _ in $(seq 1 100); do [ "$(squeue -h -j "$job" -o %T 2>/dev/null)" = RUNNING ] && break; sleep 0.1; done
t=$(now_ms)
scancel "$job" || die "scancel $job failed"
for _ in $(seq 1 200); do squeue -h -j "$job" 2>/dev/null | grep -q . || break; sleep 0.1; done
! squeue -h -j "$job" 2>/dev/null | grep -q . || die "job $job is still queued after scancel"
say "scancel of a running job: gone from squeue in $(( $(now_ms) - t )) ms"
refused="$(sbatch --parsable --mem=$(( memory_mb + 1024 ))M --wrap true 2>&1)" && { scancel "$refused" 2>/dev/null; die "a job asking more memory than the node has was accepted"; }
say "a job asking more memory than RealMemory is refused: $(echo "${refused#sbatch: error: }" | head -1)"
say "all checks passed"
