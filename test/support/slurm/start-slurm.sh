#!/bin/bash
# start-slurm.sh - a throwaway single-machine Slurm 22.05 (Debian 12 packages) for tests, run as root.
#   munged (private socket) -> [mariadbd -> slurmdbd] -> slurmctld -> N x slurmd -N gpuK -> [slurmrestd x2]
# Adapted from shared/reference/slurm (stack-notes.md §5, whose pitfalls the comments cite).
# Everything lives in $SLURM_TEST_DIR (an empty or missing directory; a new temporary one when unset);
# nothing under /etc is touched. Stop it with stop-slurm.sh, which reads the same directory.
# Needs: apt-get install -y slurm-wlm slurmrestd munge slurm-client curl   (+ slurmdbd mariadb-server without --no-dbd)
# Usage: start-slurm.sh [--no-dbd] [--no-rest]     then:  . $SLURM_TEST_DIR/env.sh
# Env:   SLURM_TEST_DIR, SLURM_TEST_NODES (3), SLURM_TEST_GPUS (8 per node), SLURM_TEST_GPU_TYPE (h100),
#        SLURM_TEST_PORT_BASE (16817): slurmctld +0, slurmd +1, slurmdbd +2, mariadb +3, slurmrestd +4, nodes +10...
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${SLURM_TEST_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/suanli-slurm.XXXXXX")}
NODES=${SLURM_TEST_NODES:-3}
GPUS=${SLURM_TEST_GPUS:-8}
GPU_TYPE=${SLURM_TEST_GPU_TYPE:-h100}
BASE=${SLURM_TEST_PORT_BASE:-16817}
CTLD_PORT=$BASE; SLURMD_PORT=$((BASE + 1)); DBD_PORT=$((BASE + 2)); MYSQL_PORT=$((BASE + 3)); REST_PORT=$((BASE + 4))
WITH_DBD=1
WITH_REST=1
for a in "$@"; do
  case "$a" in
    --no-dbd) WITH_DBD=0 ;;
    --no-rest) WITH_REST=0 ;;
    *) echo "usage: $0 [--no-dbd] [--no-rest]" >&2; exit 2 ;;
  esac
done

log() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[start-slurm %d.%03ds] %s\n' $((ms / 1000)) $((ms % 1000)) "$*"; }
STARTED=0
cleanup() {  # stop whatever this run started, keep $DIR/log for inspection
  [ "$STARTED" = 1 ] || return 0
  echo "start-slurm: failed; stopping what was started (logs kept in $DIR/log)" >&2
  SLURM_TEST_DIR=$DIR KEEP=1 "$HERE/stop-slurm.sh" >&2
}
die() { echo "start-slurm: ERROR: $*" >&2; cleanup; exit 1; }
# wait_for SECONDS DESCRIPTION COMMAND...
wait_for() {
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "timed out after ${secs}s waiting for $what (logs in $DIR/log)"
    sleep 0.2
  done
}

T0=$(date +%s%N)
[ "$(id -u)" = 0 ] || die "run as root (slurmd runs jobs as any user only as root)"
need="munged mungekey munge unmunge slurmctld slurmd sinfo scontrol"
[ $WITH_DBD = 1 ] && need="$need slurmdbd sacctmgr mariadbd mariadb-install-db mariadb mariadb-admin"
[ $WITH_REST = 1 ] && need="$need slurmrestd curl"
for b in $need; do
  command -v "$b" >/dev/null || PATH=$PATH:/usr/sbin:/sbin command -v "$b" >/dev/null ||
    die "$b missing: apt-get install -y slurm-wlm slurmrestd munge slurm-client curl (and slurmdbd mariadb-server for accounting)"
done
export PATH=$PATH:/usr/sbin:/sbin
mkdir -p "$DIR"
[ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty: already running? (stop-slurm.sh stops it) Give an empty or new SLURM_TEST_DIR"

HOST=$(hostname -s)
if [ "$NODES" -eq 1 ]; then NODE_RANGE=gpu1; PORT_RANGE=$((BASE + 10))
else NODE_RANGE="gpu[1-$NODES]"; PORT_RANGE="$((BASE + 10))-$((BASE + 9 + NODES))"; fi
GPU_MAX=$((GPUS - 1))
ACCT_TYPE=accounting_storage/none
ACCT_TRES="#AccountingStorageTRES=gres/gpu (needs slurmdbd)"   # pitfall 5: fatal without slurmdbd
if [ $WITH_DBD = 1 ]; then
  ACCT_TYPE=accounting_storage/slurmdbd
  ACCT_TRES="AccountingStorageTRES=gres/gpu,gres/gpu:$GPU_TYPE"
fi

# on any failure: stop whatever was started, keep $DIR/log for inspection
STARTED=1
trap cleanup ERR
mkdir -p "$DIR"/{etc,state,spool,log,run,munge,munge-key,dev,jobs,rest,mysql}
chmod 755 "$DIR" "$DIR/munge"          # munged: socket dir must be world-executable
chmod 700 "$DIR/munge-key"             # munged: key dir/file must be private
chmod 1777 "$DIR/jobs" "$DIR/rest"
cd "$DIR/jobs"   # daemons inherit this cwd; a REST job without current_working_directory writes its output here (pitfall 9)

render() {
  sed -e "s|@DIR@|$DIR|g" -e "s|@HOST@|$HOST|g" -e "s|@NODE_RANGE@|$NODE_RANGE|g" \
      -e "s|@PORT_RANGE@|$PORT_RANGE|g" -e "s|@GPUS@|$GPUS|g" -e "s|@GPU_MAX@|$GPU_MAX|g" \
      -e "s|@GPU_TYPE@|$GPU_TYPE|g" -e "s|@ACCT_TYPE@|$ACCT_TYPE|g" -e "s|@ACCT_TRES@|$ACCT_TRES|g" \
      -e "s|@CTLD_PORT@|$CTLD_PORT|g" -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" -e "s|@DBD_PORT@|$DBD_PORT|g" \
      -e "s|@MYSQL_PORT@|$MYSQL_PORT|g" "$HERE/$1.in" > "$DIR/etc/$1"
}
render slurm.conf; render gres.conf; render cgroup.conf
export SLURM_CONF=$DIR/etc/slurm.conf

# pitfall 1: fake GPU device nodes (char devices, major 195 like nvidia); plain files also work but log errors
for i in $(seq 0 "$GPU_MAX"); do
  mknod "$DIR/dev/nvidia$i" c 195 "$i" 2>/dev/null || touch "$DIR/dev/nvidia$i"
done

# JWT key for auth/jwt (scontrol token, slurmrestd)
dd if=/dev/urandom of="$DIR/etc/jwt_hs256.key" bs=32 count=1 status=none
chmod 600 "$DIR/etc/jwt_hs256.key"

# --- munge (private instance; runs as root, no systemd)
mungekey --create --keyfile="$DIR/munge-key/munge.key"
munged --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge-key/munge.key" \
  --pid-file="$DIR/run/munged.pid" --seed-file="$DIR/munge-key/munged.seed" \
  --log-file="$DIR/log/munged.log"
wait_for 10 munged bash -c "munge -n -S '$DIR/munge/munge.socket' | unmunge -S '$DIR/munge/munge.socket'"
log "munged up"

# --- mariadb + slurmdbd (only for sacct / slurmdb REST endpoints)
if [ $WITH_DBD = 1 ]; then
  mariadb-install-db --user=root --datadir="$DIR/mysql" --auth-root-authentication-method=socket \
    --skip-test-db > "$DIR/log/mariadb-install.log" 2>&1
  setsid mariadbd --user=root --datadir="$DIR/mysql" --socket="$DIR/mysql/mysqld.sock" \
    --pid-file="$DIR/run/mariadb.pid" --bind-address=127.0.0.1 --port="$MYSQL_PORT" \
    --log-error="$DIR/log/mariadb.log" --skip-log-bin --innodb-buffer-pool-size=64M \
    --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
  wait_for 30 mariadb mariadb-admin --socket="$DIR/mysql/mysqld.sock" ping
  wait_for 10 "mariadb pid file" test -s "$DIR/run/mariadb.pid"
  mariadb --socket="$DIR/mysql/mysqld.sock" -e "CREATE DATABASE slurm_acct_db;
    CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
  log "mariadb up"
  render slurmdbd.conf; chmod 600 "$DIR/etc/slurmdbd.conf"
  slurmdbd                      # finds slurmdbd.conf next to $SLURM_CONF, daemonizes
  wait_for 30 slurmdbd sacctmgr -n list cluster
  log "slurmdbd up"
fi

# --- slurmctld + one slurmd per virtual node (pitfall 3: spool dirs must exist)
slurmctld
wait_for 30 slurmctld bash -c "scontrol ping | grep -q UP"
log "slurmctld up"
for k in $(seq 1 "$NODES"); do
  mkdir -p "$DIR/spool/gpu$k"
  slurmd -N "gpu$k"
done
wait_for 60 "$NODES idle nodes" bash -c "[ \$(sinfo -h -N -t idle -o %N | wc -l) -eq $NODES ]"
log "$NODES slurmd idle: $(sinfo -h -N -o '%N:%G' | tr '\n' ' ')"

# --- slurmrestd: JWT on 127.0.0.1:$REST_PORT and rest_auth/local on a unix socket.
# Pitfall 7: it refuses to run as root (or SlurmUser) -> -u nobody; JWT mode needs SLURM_JWT=daemon;
# without slurmdbd the default plugin set is fatal ("slurm not configured with slurmdbd"): load only openapi/v0.0.38.
if [ $WITH_REST = 1 ]; then
  REST_PLUGINS=()
  [ $WITH_DBD = 1 ] || REST_PLUGINS=(-s openapi/v0.0.38)
  SLURM_JWT=daemon setsid slurmrestd -f "$SLURM_CONF" "${REST_PLUGINS[@]}" -a rest_auth/jwt -u nobody "127.0.0.1:$REST_PORT" \
    </dev/null >"$DIR/log/slurmrestd-jwt.log" 2>&1 &
  echo $! > "$DIR/run/slurmrestd-jwt.pid"
  setsid slurmrestd -f "$SLURM_CONF" "${REST_PLUGINS[@]}" -a rest_auth/local -u nobody "unix:$DIR/rest/slurmrestd.sock" \
    </dev/null >"$DIR/log/slurmrestd-local.log" 2>&1 &
  echo $! > "$DIR/run/slurmrestd-local.pid"
  TOKEN=$(scontrol token username=root lifespan=300 | cut -d= -f2)
  wait_for 20 "slurmrestd (jwt)" curl -sf -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $TOKEN" \
    "http://127.0.0.1:$REST_PORT/slurm/v0.0.38/ping"
  wait_for 20 "slurmrestd (local)" curl -sf --unix-socket "$DIR/rest/slurmrestd.sock" \
    http://localhost/slurm/v0.0.38/ping
  log "slurmrestd up (jwt tcp 127.0.0.1:$REST_PORT, local unix $DIR/rest/slurmrestd.sock)"
fi

cat > "$DIR/env.sh" <<EOF
export SLURM_CONF=$SLURM_CONF
export SLURM_TEST_DIR=$DIR
export SLURMRESTD_URL=http://127.0.0.1:$REST_PORT
export SLURMRESTD_SOCKET=$DIR/rest/slurmrestd.sock
# token for the JWT endpoint:  export \$(scontrol token username=root lifespan=3600)   -> SLURM_JWT
EOF
log "ready: . $DIR/env.sh"
