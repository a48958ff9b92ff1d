#!/usr/bin/env bash
# The WIP snapshot by plant size on PostgreSQL, the production database: for each size, seeds
# a schema of its own, starts the supervisor with one worker (WORKERS=1, production mode, JSON
# log) and reports the worker's RSS three seconds after its load (and its peak), the load time
# (the worker's "WIP data loaded" log line), the worker's CPU from its start to the load, and
# the logged-in summary's latency under wrk (pre-serialized: flat whatever the size).
# bench/wip_scale.sh does the same on SQLite, with the per-request CPU of the detail pages.
#
#   bash bench/wip_scale_pg.sh [sizes, default "20000 200000 1000000"] [seconds per wrk run, default 5]
#
# Needs PostgreSQL (MES_BENCH_DATABASE_URL, default the local test database), psql and wrk.
# BIN=path uses that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

SIZES=${1:-"20000 200000 1000000"}
DURATION=${2:-5}
BASE_URL=${MES_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }
need_wrk
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin mes-dashboard
  BIN=target/release/mes-dashboard
fi
SEP='?'; [[ $BASE_URL == *\?* ]] && SEP='&'
pids=()
schemas=()
WORK=$(mktemp -d)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for s in "${schemas[@]}"; do psql -q "$BASE_URL" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

KEY=$("$BIN" gen-secret)

echo "# WIP snapshot by plant size: one worker, PostgreSQL, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at start"
for N in $SIZES; do
  SCHEMA="wip_scale_$$_$N"
  schemas+=("$SCHEMA")
  psql -q "$BASE_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
  DB_URL="${BASE_URL}${SEP}options=-c%20search_path%3D${SCHEMA}"
  t0=$(date +%s.%N)
  SECRET_KEY=$KEY DATABASE_URL=$DB_URL MES_ENV=testing "$BIN" seed --lots "$N" --tools 500 --days 1 >/dev/null
  seeded=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
  PORT=$(free_port)
  LOG="$WORK/serve-$N.log"
  WORKERS=1 MES_ENV=production SECRET_KEY=$KEY DATABASE_URL=$DB_URL LOG_FORMAT=json RUST_LOG=info \
    DB_CALL_TIMEOUT_MS=120000 CACHE_FIRST_LOAD_WAIT_MS=120000 BIND=127.0.0.1:$PORT \
    "$BIN" serve >"$LOG" 2>&1 &
  SUP=$!; pids+=($SUP)
  wait_http "http://127.0.0.1:$PORT/health/live" 120
  await_loaded_worker "$SUP" "$PORT" "$DB_URL"
  report_loaded_worker "$N" "$seeded" "$LOG" 3
  wrk_latency "  summary" "$BASE/api/wip/overview/summary" -t1 -c8 -d"${DURATION}s" -H "Cookie: $COOKIE"
  kill "$SUP" 2>/dev/null || true
  wait "$SUP" 2>/dev/null || true
  psql -q "$BASE_URL" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null
done
