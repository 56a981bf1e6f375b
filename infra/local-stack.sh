#!/usr/bin/env bash
# studyflow's production stack on one machine without Docker, every service on 127.0.0.1:
#   PostgreSQL (Debian packages, run as the `postgres` user, data in the state folder)
#   -> a Prefect server on it -> an S3-compatible server (moto, from the venv) with a versioned
#   bucket -> a `process` work pool and a worker polling it.
#
#   infra/local-stack.sh up       start what is not running (idempotent); writes STATE/env
#   infra/local-stack.sh down     stop everything it started; data stays in STATE
#   infra/local-stack.sh status   what runs (exit 0: everything, 3: not everything)
#
# Then `source .studyflow/stack/env` gives PREFECT_API_URL, AWS_ENDPOINT_URL, test-only S3
# credentials and STUDYFLOW_STORE=s3://BUCKET/PREFIX to any command.
#
# Settings (environment; ports are remembered in STATE/stack.conf while the stack runs):
#   STUDYFLOW_STACK_DIR          state folder (default: .studyflow/stack in the repository)
#   STUDYFLOW_VENV               venv with prefect and moto_server (default: .venv; `make venv-dev`)
#   STUDYFLOW_STACK_PG_PORT      PostgreSQL port (default 55432)
#   STUDYFLOW_STACK_PREFECT_PORT Prefect API and UI port (default 4200)
#   STUDYFLOW_STACK_S3_PORT      S3-compatible server port (default 9900)
#   STUDYFLOW_STACK_BUCKET / STUDYFLOW_STACK_PREFIX   bucket and key prefix (studyflow-data / study)
#   STUDYFLOW_STACK_POOL         work pool name (default studyflow, as in prefect.yaml)
#   STUDYFLOW_STACK_TIMEOUT      seconds each service may take to start (default 120)
#
# The S3 server keeps objects in memory: `down` loses the bucket's contents (PostgreSQL's data
# stays). Nothing here is meant for a shared or exposed host: credentials are local test values.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
STATE="${STUDYFLOW_STACK_DIR:-$ROOT/.studyflow/stack}"
VENV="${STUDYFLOW_VENV:-$ROOT/.venv}"
TIMEOUT="${STUDYFLOW_STACK_TIMEOUT:-120}"
# Test-only S3 credentials: the S3 server on loopback accepts any; nobody's secret.
S3_KEY_ID="studyflow-local"
S3_SECRET="studyflow-local-secret"
S3_REGION="us-east-1"
PG_SUPERUSER="postgres"
PG_ROLE="prefect"
PG_DB="prefect"

log() { printf 'local-stack: %s\n' "$*"; }
die() { printf 'local-stack: error: %s\n' "$*" >&2; exit 1; }

usage() {
  echo "usage: $0 up|down|status" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------
# Paths and configuration
# ---------------------------------------------------------------------------------------------
set_paths() {
  RUN="$STATE/run"
  LOGS="$STATE/logs"
  PGROOT="$STATE/pg"
  PGDATA="$PGROOT/data"
  PGLOG="$PGROOT/postgres.log"
  PREFECT_HOME_DIR="$STATE/prefect-home"
  CONF="$STATE/stack.conf"
}

load_config() {
  # Ports of a running stack come from its stack.conf, so `down`/`status` find it again.
  # (Not from same-named variables a user's shell may export.)
  unset PG_PORT PREFECT_PORT S3_PORT BUCKET PREFIX POOL
  if [ -f "$CONF" ]; then
    # shellcheck source=/dev/null
    . "$CONF"
  fi
  PG_PORT="${PG_PORT:-${STUDYFLOW_STACK_PG_PORT:-55432}}"
  PREFECT_PORT="${PREFECT_PORT:-${STUDYFLOW_STACK_PREFECT_PORT:-4200}}"
  S3_PORT="${S3_PORT:-${STUDYFLOW_STACK_S3_PORT:-9900}}"
  BUCKET="${BUCKET:-${STUDYFLOW_STACK_BUCKET:-studyflow-data}}"
  PREFIX="${PREFIX:-${STUDYFLOW_STACK_PREFIX:-study}}"
  POOL="${POOL:-${STUDYFLOW_STACK_POOL:-studyflow}}"
  API_URL="http://127.0.0.1:$PREFECT_PORT/api"
  S3_URL="http://127.0.0.1:$S3_PORT"
}

write_config() {
  cat >"$CONF" <<EOF
PG_PORT=$PG_PORT
PREFECT_PORT=$PREFECT_PORT
S3_PORT=$S3_PORT
BUCKET=$BUCKET
PREFIX=$PREFIX
POOL=$POOL
EOF
}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
pid_of() { [ -f "$RUN/$1.pid" ] && cat "$RUN/$1.pid"; }

running() {
  # running NAME: the process recorded in RUN/NAME.pid is alive.
  local pid
  pid="$(pid_of "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

pg_pid() { [ -f "$PGDATA/postmaster.pid" ] && head -n 1 "$PGDATA/postmaster.pid"; }

pg_running() {
  local pid
  pid="$(pg_pid 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_port_free() {
  # check_port_free PORT SETTING: refuse to start on a port another program listens on.
  if port_open "$1"; then
    die "port $1 on 127.0.0.1 is already in use by another program; choose another with $2"
  fi
}

start_bg() {
  # start_bg NAME COMMAND...: run in its own session (so `down` can stop its whole process
  # group), output to LOGS/NAME.log, PID in RUN/NAME.pid. Every process the stack starts carries
  # STUDYFLOW_STACK_MEMBER, which `down` uses to find anything left behind.
  local name="$1"
  shift
  (cd "$ROOT" && exec env STUDYFLOW_STACK_MEMBER="$STATE" setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null) &
  echo "$!" >"$RUN/$name.pid"
}

failed_to_start() {
  # failed_to_start WHAT LOGFILE [WHY]
  {
    printf 'local-stack: error: %s failed to start%s\n' "$1" "${3:+: $3}"
    printf 'local-stack: log: %s\n' "$2"
    if [ -r "$2" ]; then
      echo "---- last lines of $2 ----"
      tail -n 25 "$2" || true
      echo "----"
    fi
    echo "local-stack: whatever did start keeps running; stop it with: $0 down"
  } >&2
  exit 1
}

wait_until() {
  # wait_until NAME LOGFILE PIDCHECK PROBE...: poll PROBE each second until it succeeds; fail if
  # PIDCHECK (a function name) says the process died or TIMEOUT seconds pass.
  local name="$1" logfile="$2" pidcheck="$3"
  shift 3
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    "$pidcheck" || failed_to_start "$name" "$logfile" "the process exited"
    [ "$SECONDS" -lt "$deadline" ] || failed_to_start "$name" "$logfile" "not ready after ${TIMEOUT} s"
    sleep 1
  done
}

http_ok() {
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)' "$1"
}

stop_group() {
  # stop_group NAME: SIGTERM the process group recorded in RUN/NAME.pid, then SIGKILL after 20 s.
  local name="$1" pid _
  pid="$(pid_of "$name" 2>/dev/null)" || return 0
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
      kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop within 20 s: killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$RUN/$name.pid"
}

stack_members() {
  # PIDs of processes carrying STUDYFLOW_STACK_MEMBER=STATE (started by this stack, directly or
  # not: flow runs of the worker, the server's children).
  local dir pid
  for dir in /proc/[0-9]*; do
    pid="${dir#/proc/}"
    [ "$pid" = "$$" ] && continue
    if { tr '\0' '\n' <"$dir/environ"; } 2>/dev/null | grep -qxF "STUDYFLOW_STACK_MEMBER=$STATE"; then
      echo "$pid"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "needs root (or sudo) for: $*"
  fi
}

as_pg() {
  # PostgreSQL refuses to run as root: as root, run it as the `postgres` user (created by the
  # Debian packages); as another user, run it as that user.
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$PGROOT" && runuser -u postgres -- "$@")
  else
    (cd "$PGROOT" && "$@")
  fi
}

pg_bindir() {
  local initdb
  initdb="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  [ -x "$initdb" ] && dirname "$initdb"
}

ensure_postgres_installed() {
  if PGBIN="$(pg_bindir)"; then
    return 0
  fi
  log "installing PostgreSQL from Debian packages (log: $LOGS/install.log)"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -q --no-install-recommends postgresql postgresql-client >>"$LOGS/install.log" 2>&1; then
    as_root apt-get update -q >>"$LOGS/install.log" 2>&1 || true
    as_root apt-get install -y -q --no-install-recommends postgresql postgresql-client >>"$LOGS/install.log" 2>&1 \
      || failed_to_start "PostgreSQL installation" "$LOGS/install.log" "apt-get install postgresql failed"
  fi
  PGBIN="$(pg_bindir)" || die "PostgreSQL installed but no initdb under /usr/lib/postgresql/*/bin"
}

random_hex() { od -An -tx1 -N16 /dev/urandom | tr -d ' \n'; }

pg_init() {
  mkdir -p "$PGROOT"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user: the Debian postgresql packages create it"
    chown postgres:postgres "$PGROOT"
    if ! runuser -u postgres -- test -w "$PGROOT"; then
      die "the postgres user cannot write $PGROOT (a parent folder is not searchable by others); set STUDYFLOW_STACK_DIR to a folder it can reach"
    fi
  fi
  chmod 700 "$PGROOT"
  if [ ! -f "$STATE/pg-superuser.password" ]; then
    (umask 077 && random_hex >"$STATE/pg-superuser.password")
  fi
  if [ ! -f "$STATE/prefect-db.password" ]; then
    (umask 077 && random_hex >"$STATE/prefect-db.password")
  fi
  [ -f "$PGDATA/PG_VERSION" ] && return 0
  log "creating the PostgreSQL cluster in $PGDATA"
  local pwfile="$PGROOT/.pwfile"
  (umask 077 && cat "$STATE/pg-superuser.password" >"$pwfile")
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pwfile"
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U "$PG_SUPERUSER" --pwfile="$pwfile" -E UTF8 --no-locale \
    --auth-host=scram-sha-256 --auth-local=peer >"$LOGS/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; failed_to_start "PostgreSQL initdb" "$LOGS/initdb.log"; }
  rm -f "$pwfile"
  # Loopback TCP only, no Unix socket (its path could exceed the 107-byte limit), password auth.
  cat >>"$PGDATA/postgresql.conf" <<'EOF'

# studyflow local stack
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
EOF
}

pg_start() {
  if pg_running; then
    log "postgres already running (pid $(pg_pid), port $PG_PORT)"
    return 0
  fi
  check_port_free "$PG_PORT" STUDYFLOW_STACK_PG_PORT
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg env STUDYFLOW_STACK_MEMBER="$STATE" "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGLOG" \
    -o "-p $PG_PORT" -w -t "$TIMEOUT" start >"$LOGS/pg_ctl.log" 2>&1 \
    || failed_to_start "PostgreSQL" "$PGLOG" "pg_ctl start failed (see also $LOGS/pg_ctl.log)"
}

psql_super() {
  PGPASSWORD="$(cat "$STATE/pg-superuser.password")" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres -tA "$@"
}

pg_prepare_database() {
  local pw
  pw="$(cat "$STATE/prefect-db.password")"
  if [ "$(psql_super -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" = "1" ]; then
    psql_super -c "ALTER ROLE $PG_ROLE WITH LOGIN PASSWORD '$pw'" >/dev/null
  else
    log "creating role $PG_ROLE and database $PG_DB"
    psql_super -c "CREATE ROLE $PG_ROLE WITH LOGIN PASSWORD '$pw'" >/dev/null
  fi
  if [ "$(psql_super -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    psql_super -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE" >/dev/null
  fi
  DB_URL="postgresql+asyncpg://$PG_ROLE:$pw@127.0.0.1:$PG_PORT/$PG_DB"
  (umask 077 && echo "$DB_URL" >"$STATE/prefect-db.url")
}

# ---------------------------------------------------------------------------------------------
# Prefect server, S3 server, work pool, worker
# ---------------------------------------------------------------------------------------------
prefect_env() {
  # The environment every Prefect process of the stack gets (its own PREFECT_HOME, no telemetry).
  echo "PREFECT_HOME=$PREFECT_HOME_DIR"
  echo "PREFECT_API_URL=$API_URL"
  echo "PREFECT_SERVER_ANALYTICS_ENABLED=false"
}

server_alive() { running prefect-server; }
s3_alive() { running s3; }
worker_alive() { running worker; }

server_start() {
  if server_alive; then
    log "prefect server already running (pid $(pid_of prefect-server), $API_URL)"
    return 0
  fi
  check_port_free "$PREFECT_PORT" STUDYFLOW_STACK_PREFECT_PORT
  log "starting the Prefect server on http://127.0.0.1:$PREFECT_PORT (database: PostgreSQL)"
  mkdir -p "$PREFECT_HOME_DIR"
  # PREFECT_API_URL / PREFECT_UI_API_URL in the server's own environment: without them on a
  # non-default port the UI calls the wrong API.
  local -a envs
  mapfile -t envs < <(prefect_env)
  start_bg prefect-server env "${envs[@]}" \
    PREFECT_UI_API_URL="$API_URL" \
    PREFECT_API_DATABASE_CONNECTION_URL="$DB_URL" \
    PREFECT_SERVER_API_HOST=127.0.0.1 \
    PREFECT_SERVER_API_PORT="$PREFECT_PORT" \
    "$VENV/bin/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT"
  wait_until "prefect server" "$LOGS/prefect-server.log" server_alive http_ok "$API_URL/health"
}

s3_start() {
  if s3_alive; then
    log "S3 server already running (pid $(pid_of s3), $S3_URL)"
  else
    check_port_free "$S3_PORT" STUDYFLOW_STACK_S3_PORT
    log "starting the S3-compatible server (moto) on $S3_URL"
    start_bg s3 "$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT"
    wait_until "S3 server (moto_server)" "$LOGS/s3.log" s3_alive http_ok "$S3_URL/moto-api/"
  fi
  s3_env "$PY" - "$BUCKET" >>"$LOGS/s3.log" 2>&1 <<'EOF' || failed_to_start "S3 bucket setup" "$LOGS/s3.log"
import sys

import boto3

bucket = sys.argv[1]
s3 = boto3.client("s3")
if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
    s3.create_bucket(Bucket=bucket)
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
assert status == "Enabled", f"bucket {bucket} versioning is {status!r}"
print(f"local-stack: bucket {bucket} ready, versioning {status}")
EOF
}

s3_env() {
  env AWS_ENDPOINT_URL="$S3_URL" AWS_ACCESS_KEY_ID="$S3_KEY_ID" AWS_SECRET_ACCESS_KEY="$S3_SECRET" \
    AWS_REGION="$S3_REGION" AWS_DEFAULT_REGION="$S3_REGION" "$@"
}

prefect_cli() {
  local -a envs
  mapfile -t envs < <(prefect_env)
  env "${envs[@]}" "$VENV/bin/prefect" "$@"
}

pool_ensure() {
  if prefect_cli work-pool inspect "$POOL" >/dev/null 2>&1; then
    return 0
  fi
  log "creating the process work pool $POOL"
  prefect_cli work-pool create "$POOL" --type process >>"$LOGS/work-pool.log" 2>&1 \
    || failed_to_start "work pool $POOL" "$LOGS/work-pool.log"
}

worker_online() {
  "$PY" - "$API_URL" "$POOL" <<'EOF'
import json
import sys
import urllib.request

api, pool = sys.argv[1:3]
req = urllib.request.Request(
    f"{api}/work_pools/{pool}/workers/filter", data=b"{}", method="POST",
    headers={"Content-Type": "application/json"},
)
workers = json.load(urllib.request.urlopen(req, timeout=5))
sys.exit(0 if any(w.get("status") == "ONLINE" for w in workers) else 1)
EOF
}

worker_start() {
  if worker_alive; then
    log "worker already running (pid $(pid_of worker), pool $POOL)"
    return 0
  fi
  log "starting a process worker for pool $POOL"
  local -a envs
  mapfile -t envs < <(prefect_env)
  start_bg worker env "${envs[@]}" \
    AWS_ENDPOINT_URL="$S3_URL" AWS_ACCESS_KEY_ID="$S3_KEY_ID" AWS_SECRET_ACCESS_KEY="$S3_SECRET" \
    AWS_REGION="$S3_REGION" AWS_DEFAULT_REGION="$S3_REGION" \
    STUDYFLOW_STORE="s3://$BUCKET/$PREFIX" STUDYFLOW_HOME="$ROOT" \
    PREFECT_WORKER_QUERY_SECONDS="${PREFECT_WORKER_QUERY_SECONDS:-5}" \
    "$VENV/bin/prefect" worker start --pool "$POOL" --type process --name "studyflow-local-$PREFECT_PORT"
  wait_until "prefect worker" "$LOGS/worker.log" worker_alive worker_online
}

write_env_file() {
  local tmp="$STATE/env.tmp"
  cat >"$tmp" <<EOF
# Written by infra/local-stack.sh up; \`source\` it to use the local stack.
export PREFECT_API_URL=$API_URL
export PREFECT_UI_API_URL=$API_URL
export PREFECT_SERVER_ANALYTICS_ENABLED=false
# S3-compatible server on loopback; test-only credentials (it accepts any).
export AWS_ENDPOINT_URL=$S3_URL
export AWS_ACCESS_KEY_ID=$S3_KEY_ID
export AWS_SECRET_ACCESS_KEY=$S3_SECRET
export AWS_REGION=$S3_REGION
export AWS_DEFAULT_REGION=$S3_REGION
export STUDYFLOW_STORE=s3://$BUCKET/$PREFIX
export STUDYFLOW_WORK_POOL=$POOL
EOF
  mv "$tmp" "$STATE/env"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
cmd_up() {
  mkdir -p "$STATE"
  STATE="$(cd "$STATE" && pwd)"
  set_paths
  mkdir -p "$RUN" "$LOGS"
  chmod 755 "$STATE"
  if pg_running || server_alive || s3_alive || worker_alive; then
    load_config  # keep the ports the running parts use
  else
    rm -f "$CONF"
    load_config
  fi
  write_config

  PY="$VENV/bin/python"
  [ -x "$VENV/bin/prefect" ] || die "no prefect in $VENV: run \`make venv-dev\` (or set STUDYFLOW_VENV)"
  [ -x "$VENV/bin/moto_server" ] || die "no moto_server in $VENV: it is a dev dependency (moto[server]); run \`make venv-dev\`"
  "$PY" -c 'import sys' 2>/dev/null || die "cannot run $PY (as $(id -un)): set STUDYFLOW_VENV to a venv this user can run"
  # Prefect talks to PostgreSQL through asyncpg, one of prefect's own dependencies.
  "$PY" -c 'import asyncpg' 2>/dev/null \
    || die "asyncpg is not importable in $VENV (prefect depends on it): reinstall the venv with \`make venv-dev\`"

  ensure_postgres_installed
  pg_init
  pg_start
  pg_prepare_database
  server_start
  s3_start
  pool_ensure
  worker_start
  write_env_file
  log "up: Prefect UI http://127.0.0.1:$PREFECT_PORT  API $API_URL"
  log "    S3 $S3_URL  store s3://$BUCKET/$PREFIX  work pool $POOL"
  log "    source $STATE/env   # to use it from a shell"
}

cmd_down() {
  if [ ! -d "$STATE" ]; then
    log "nothing to stop: no state folder $STATE"
    return 0
  fi
  STATE="$(cd "$STATE" && pwd)"
  set_paths
  load_config
  stop_group worker
  stop_group prefect-server
  stop_group s3
  if pg_running; then
    log "stopping PostgreSQL (pid $(pg_pid))"
    PGBIN="$(pg_bindir)" || die "no PostgreSQL binaries to stop the server with"
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >"$LOGS/pg_ctl.log" 2>&1 || {
      log "pg_ctl stop failed (log: $LOGS/pg_ctl.log): killing the postmaster"
      kill -KILL "$(pg_pid)" 2>/dev/null || true
    }
  fi
  # Anything the stack started that outlived its parent (e.g. a flow run of the worker).
  local left pid
  left="$(stack_members)"
  if [ -n "$left" ]; then
    log "stopping leftover processes: $(echo "$left" | tr '\n' ' ')"
    for pid in $left; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 2
    for pid in $(stack_members); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  rm -f "$STATE/env"
  [ -d "$RUN" ] && rm -f "$RUN"/*.pid
  log "down: nothing of the stack in $STATE runs (data kept; remove the folder to start afresh)"
}

cmd_status() {
  if [ ! -d "$STATE" ]; then
    log "not running: no state folder $STATE"
    return 3
  fi
  STATE="$(cd "$STATE" && pwd)"
  set_paths
  load_config
  PY="$VENV/bin/python"
  local all=0
  if pg_running; then
    printf '%-15s running  pid %-7s postgresql://127.0.0.1:%s/%s  data %s\n' postgres "$(pg_pid)" "$PG_PORT" "$PG_DB" "$PGDATA"
  else
    printf '%-15s stopped\n' postgres; all=3
  fi
  if server_alive; then
    local health="not answering"
    http_ok "$API_URL/health" >/dev/null 2>&1 && health="healthy"
    printf '%-15s running  pid %-7s %s (%s)  UI http://127.0.0.1:%s\n' prefect-server "$(pid_of prefect-server)" "$API_URL" "$health" "$PREFECT_PORT"
  else
    printf '%-15s stopped\n' prefect-server; all=3
  fi
  if s3_alive; then
    printf '%-15s running  pid %-7s %s  store s3://%s/%s\n' s3 "$(pid_of s3)" "$S3_URL" "$BUCKET" "$PREFIX"
  else
    printf '%-15s stopped\n' s3; all=3
  fi
  if worker_alive; then
    printf '%-15s running  pid %-7s pool %s\n' worker "$(pid_of worker)" "$POOL"
  else
    printf '%-15s stopped\n' worker; all=3
  fi
  [ -f "$STATE/env" ] && echo "env file: $STATE/env"
  return "$all"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) usage ;;
esac
