#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine (Debian 12: slurm-wlm 22.05 + munge), for
# development and for the Slurm test suites. No systemd is assumed: the daemons are started by
# hand, as root, and their PIDs recorded under $FLOTILLA_SLURM_DIR.
#
#   scripts/slurm-dev-cluster.sh start    install slurm-wlm/munge if missing, start, wait until idle
#   scripts/slurm-dev-cluster.sh stop     cancel the jobs and stop the daemons that `start` started
#   scripts/slurm-dev-cluster.sh status   print the node's state; exit 0 when it takes jobs
#
# Idempotent: `start` on a cluster that already answers only prints its state (and then `stop`
# leaves that cluster alone: it only ever stops what it started, by PID).
set -euo pipefail
DIR=${FLOTILLA_SLURM_DIR:-/var/lib/flotilla-slurm-dev}
STARTED="$DIR/started" # one line per daemon this script started: "<name> <pid>"
WAIT_S=${FLOTILLA_SLURM_WAIT_S:-30}

say() { echo "slurm-dev-cluster: $*" >&2; }

node_ready() { sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    return
  fi
  [ "$(id -u)" = 0 ] || { say "slurm-wlm/munge are missing and installing them needs root"; exit 1; }
  say "installing slurm-wlm and munge with apt-get"
  apt-get update -qq
  # Another engineer (or CI job) may be installing at the same time: wait for the dpkg lock.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends slurm-wlm munge >/dev/null
}

# Records a daemon we started, once its pid file names a live process.
record() {
  local name=$1 pidfile=$2 pid=""
  for _ in $(seq 1 50); do
    pid=$(cat "$pidfile" 2>/dev/null || true)
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && break
    sleep 0.1
  done
  [ -n "$pid" ] || { say "$name did not write $pidfile"; return 1; }
  echo "$name $pid" >>"$STARTED"
}

start_munge() {
  mkdir -p /run/munge /etc/munge
  chown munge:munge /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  if munge -n >/dev/null 2>&1; then return; fi # a munged already answers: use it, do not own it
  # As root first (what the dev cluster needs); some hosts refuse that, then as the munge user.
  munged --force --pid-file="$DIR/munged.pid" 2>/dev/null ||
    runuser -u munge -- munged --pid-file="$DIR/munged.pid"
  record munged "$DIR/munged.pid"
}

write_config() {
  local cpus mem
  cpus=$(nproc)
  mem=$(($(free -m | awk '/^Mem:/{print $2}') * 8 / 10))
  mkdir -p /etc/slurm
  cat >/etc/slurm/slurm.conf <<CONF
# Written by flotilla's scripts/slurm-dev-cluster.sh: a single-node development cluster.
ClusterName=flotilla-dev
SlurmctldHost=localhost
AuthType=auth/munge
SlurmUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# sacct --completion reads this file: the only accounting a cluster without slurmdbd has.
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
# Schedule on every submit and exit instead of in batches (pilots start in ~1 s, not ~60 s).
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0,default_queue_depth=1000,bf_interval=1
MessageTimeout=10
# Ended jobs stay visible to squeue for this long (how a provider learns why a pilot ended).
MinJobAge=300
KillWait=5
DefMemPerCPU=1024
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

wait_ready() {
  for _ in $(seq 1 $((WAIT_S * 2))); do
    if node_ready; then sinfo; return 0; fi
    sleep 0.5
  done
  say "the node did not become idle in $WAIT_S s"
  tail -n 20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  return 1
}

start() {
  if node_ready; then sinfo; return 0; fi
  [ "$(id -u)" = 0 ] || { say "starting the daemons needs root"; exit 1; }
  install_packages
  mkdir -p "$DIR"/{state,spool,log}
  start_munge
  write_config
  if ! pgrep -x slurmctld >/dev/null; then
    slurmctld
    record slurmctld "$DIR/slurmctld.pid"
  fi
  if ! pgrep -x slurmd >/dev/null; then
    slurmd
    record slurmd "$DIR/slurmd.pid"
  fi
  wait_ready
}

# The jobs of a cluster we started are ours too: their processes would outlive slurmd otherwise
# (proctrack/linuxproc does not contain them).
cancel_jobs() {
  local left
  left=$(squeue -h -o '%i' 2>/dev/null | wc -l) || return 0
  [ "$left" -gt 0 ] || return 0
  say "cancelling $left job(s) still on the cluster"
  scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
  for _ in $(seq 1 $((WAIT_S * 2))); do
    [ "$(squeue -h -o '%i' 2>/dev/null | wc -l)" -eq 0 ] && return 0
    sleep 0.5
  done
  say "jobs still listed after $WAIT_S s:"
  squeue >&2 || true
}

# Stops one recorded daemon: TERM, a bounded wait, then KILL. Checks the name so that a reused
# PID is never signalled.
stop_daemon() {
  local name=$1 pid=$2
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 $((WAIT_S * 10))); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 0
    grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && return 0 # a zombie is gone enough
    sleep 0.1
  done
  say "$name ($pid) ignored SIGTERM for $WAIT_S s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  if [ ! -s "$STARTED" ]; then
    say "nothing to stop: this script started no daemon (see $STARTED)"
    return 0
  fi
  cancel_jobs
  # Reverse order of start: slurmd, slurmctld, then munged.
  tac "$STARTED" | while read -r name pid; do
    stop_daemon "$name" "$pid"
    say "stopped $name ($pid)"
  done
  rm -f "$STARTED"
}

status() {
  if node_ready; then
    sinfo
    squeue
    return 0
  fi
  say "no Slurm node takes jobs here (start one with: $0 start)"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
