#!/bin/bash
# stop-slurm.sh - stop what start-slurm.sh started, by the PIDs in $SLURM_TEST_DIR/run, newest first.
# Never kills by name. KEEP=1 keeps the directory (logs) afterwards. Safe to run twice.
# Usage: SLURM_TEST_DIR=<dir> stop-slurm.sh   (or: stop-slurm.sh <dir>)
set -uo pipefail
DIR=${1:-${SLURM_TEST_DIR:-}}
[ -n "$DIR" ] || { echo "usage: SLURM_TEST_DIR=<dir> $0   (the directory start-slurm.sh used)" >&2; exit 2; }
[ -d "$DIR" ] && [ -d "$DIR/run" ] || { echo "stop-slurm: $DIR is not a start-slurm.sh directory, nothing to do"; [ -d "$DIR" ] && [ -z "$(ls -A "$DIR")" ] && rmdir "$DIR"; exit 0; }

alive() {  # running and not a zombie
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
stop_pidfile() {  # stop_pidfile FILE EXPECTED_COMM
  local f=$1 comm=$2 pid
  [ -s "$f" ] || return 0
  pid=$(tr -dc 0-9 < "$f")
  if [ -n "$pid" ] && alive "$pid"; then
    # guard against PID reuse: only signal the binary we expect
    if [ "$(cat /proc/$pid/comm 2>/dev/null)" != "$comm" ]; then
      echo "stop-slurm: pid $pid from $f is $(cat /proc/$pid/comm 2>/dev/null), not $comm; skipped"
      rm -f "$f"; return 0
    fi
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 75); do alive "$pid" || break; sleep 0.2; done
    if alive "$pid"; then echo "stop-slurm: $comm ($pid) ignored SIGTERM, sending SIGKILL"; kill -KILL "$pid"; fi
    echo "stop-slurm: stopped $comm ($pid)"
  fi
  rm -f "$f"
}

# pitfall 13: cancel jobs first so no slurmstepd/job processes outlive their slurmd
if [ -s "$DIR/run/slurmctld.pid" ] && alive "$(tr -dc 0-9 < "$DIR/run/slurmctld.pid")"; then
  export SLURM_CONF=$DIR/etc/slurm.conf
  jobs=$(timeout 10 squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// }" ]; then
    timeout 10 scancel $jobs 2>/dev/null
    for _ in $(seq 1 100); do
      [ -z "$(timeout 5 squeue -h -t running,completing,configuring -o %i 2>/dev/null)" ] && break; sleep 0.2
    done
    echo "stop-slurm: cancelled jobs $jobs"
  fi
fi

stop_pidfile "$DIR/run/slurmrestd-jwt.pid" slurmrestd
stop_pidfile "$DIR/run/slurmrestd-local.pid" slurmrestd
for f in "$DIR"/run/slurmd-*.pid; do [ -e "$f" ] && stop_pidfile "$f" slurmd; done
# safety net: slurmstepd (and its job processes) outlive a slurmd that died before scancel.
# Ours have their cwd in $DIR/log; kill their process trees (descendants first), by PID.
descendants() { local c; for c in $(ps -eo pid=,ppid= | awk -v p="$1" '$2==p{print $1}'); do descendants "$c"; echo "$c"; done; }
for p in $(ps -eo pid=,comm= | awk '$2=="slurmstepd"{print $1}'); do
  alive "$p" || continue
  case "$(readlink "/proc/$p/cwd" 2>/dev/null)" in
    "$DIR"/*) kids=$(descendants "$p"); kill -KILL $kids "$p" 2>/dev/null; echo "stop-slurm: killed stray slurmstepd $p and job processes: ${kids//$'\n'/ }" ;;
  esac
done

stop_pidfile "$DIR/run/slurmctld.pid" slurmctld
stop_pidfile "$DIR/run/slurmdbd.pid" slurmdbd
stop_pidfile "$DIR/run/mariadb.pid" mariadbd
stop_pidfile "$DIR/run/munged.pid" munged

if [ "${KEEP:-0}" = 1 ]; then echo "stop-slurm: kept $DIR"; else rm -rf "$DIR"; echo "stop-slurm: removed $DIR"; fi
