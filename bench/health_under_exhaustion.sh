#!/usr/bin/env bash
# /health latency with the request pool free, then with every request-pool connection held
# by requests blocked on a table lock: the dedicated health pool must keep /health fast.
#
# Needs PostgreSQL (MES_BENCH_DATABASE_URL, default the local test database) and wrk (installed
# from the distribution's packages when missing). Uses a schema of its own, dropped at the end.
#
#   bash bench/health_under_exhaustion.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
BASE_URL=${MES_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
POOL=4
need_wrk
command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }

cargo build --release --quiet
BIN=target/release/mes-dashboard
SCHEMA="bench_$$"
SEP='?'; [[ $BASE_URL == *\?* ]] && SEP='&'
DB_URL="${BASE_URL}${SEP}options=-c%20search_path%3D${SCHEMA}"
PORT=$(free_port)
LOG=$(mktemp)
JAR=$(mktemp)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$BASE_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  rm -f "$LOG" "$JAR"
}
trap cleanup EXIT

psql -q "$BASE_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
DATABASE_URL=$DB_URL MES_ENV=testing "$BIN" seed --lots 20000 --tools 500 --days 30 >/dev/null

# The page-registry reads that hold the pool need a logged-in administrator: a local one
# (testing mode). (WIP lot lookups cannot hold it: they answer from the in-memory snapshot.)
LOCAL_AUTH_USERS="bench:bench@example.com:$(printf bench-password | "$BIN" hash-password)" \
ADMIN_EMAILS=bench@example.com MES_ENV=testing BIND=127.0.0.1:$PORT DATABASE_URL=$DB_URL RUST_LOG=warn \
  DB_POOL_SIZE=$POOL DB_MAX_OVERFLOW=0 DB_POOL_TIMEOUT=60 DB_CALL_TIMEOUT_MS=120000 \
  HEALTH_MEMO_TTL_SECONDS=0 "$BIN" serve >"$LOG" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$PORT/health/live"
login "http://127.0.0.1:$PORT" bench bench-password "$JAR"

echo "# /health with the request pool ($POOL connections) free, then fully held; ${DURATION}s each, 2 threads, 8 connections"
echo "# testing mode: no memo, every probe runs its checks (database through the health pool, breaker, pool, cache)"
wrk_latency "/health, request pool free" "http://127.0.0.1:$PORT/health" -t2 -c8 -d"${DURATION}s"

# Hold the pool: a transaction locks the pages table; page-registry reads block inside the
# database, each holding a request-pool connection; more wait for one.
psql -q "$DB_URL" -c "BEGIN; LOCK TABLE pages IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($((DURATION * 2 + 20))); COMMIT;" >/dev/null 2>&1 &
pids+=($!)
sleep 1
for _ in $(seq 1 $((POOL * 2))); do
  curl -s -o /dev/null -b "$JAR" -m $((DURATION * 2 + 15)) "http://127.0.0.1:$PORT/admin/api/pages" &
  pids+=($!)
done
for _ in $(seq 1 50); do
  in_use=$(curl -s "http://127.0.0.1:$PORT/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["db_pool"]["in_use"])')
  [[ $in_use == "$POOL" ]] && break
  sleep 0.2
done
echo "# request pool in use: $in_use of $POOL"
[[ $in_use == "$POOL" ]] || { echo "could not exhaust the pool" >&2; exit 1; }
wrk_latency "/health, request pool exhausted" "http://127.0.0.1:$PORT/health" -t2 -c8 -d"${DURATION}s"
curl -s "http://127.0.0.1:$PORT/health" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("# /health status:", r["status"], "reason:", r["degraded_reason"])'
