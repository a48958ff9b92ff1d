#!/usr/bin/env bash
# How the WIP snapshot scales: for each plant size, seeds a SQLite database, starts one worker
# (WORKERS=1, production mode, JSON log) and reports the worker's RSS once the snapshot is
# loaded, the load time (from the worker's "WIP data loaded" log line), and the summary's
# latency under wrk (it is pre-serialized, so it should stay flat whatever the size). With the
# first size it also measures server CPU per request of a filtered /api/wip/detail page, of the
# /wip-detail page (HTML) showing the same lots and of /api/wip/meta/search, against a bare
# hyper server returning the detail's bytes in the same run (as bench/wip_summary.sh does).
#
#   bash bench/wip_scale.sh [sizes, default "20000 200000 1000000"] [seconds per wrk run, default 5]
#
# Server CPU per request is the worker's user+system CPU time during a run divided by the
# requests served. Needs wrk, python3 and sqlite3 (through python3).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

SIZES=${1:-"20000 200000 1000000"}
DURATION=${2:-5}
bench_setup

TICK=$(getconf CLK_TCK)

# cpu_run LABEL PID URL [wrk args…]: wrk against URL; requests/s, µs of PID's CPU per request.
cpu_run() {
  local label=$1 pid=$2 url=$3 before after out rps total cpu_us p99 non2xx
  shift 3
  before=$(cpu_ticks "$pid")
  out=$(wrk --latency -t1 -c8 -d"${DURATION}s" "$@" "$url")
  after=$(cpu_ticks "$pid")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
  cpu_us=$(awk -v t=$((after - before)) -v n="$total" -v hz="$TICK" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  printf '  %-34s %9s req/s   %6s µs CPU/request   p99 %8s   non-2xx %s\n' \
    "$label" "$rps" "$cpu_us" "$p99" "${non2xx:-0}"
}

KEY=$("$BIN" gen-secret)
first=1
echo "# WIP snapshot by plant size: one worker, SQLite, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at start"
for N in $SIZES; do
  DB="$WORK/wip-$N.sqlite3"
  t0=$(date +%s.%N)
  DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" migrate >/dev/null 2>&1
  DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" seed --lots "$N" --tools 500 --days 1 >/dev/null 2>&1
  seeded=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
  PORT=$(free_port)
  LOG="$WORK/serve-$N.log"
  WORKERS=1 MES_ENV=production SECRET_KEY=$KEY ALLOW_SQLITE_IN_PRODUCTION=true \
    DATABASE_URL="sqlite://$DB" LOG_FORMAT=json RUST_LOG=info DB_CALL_TIMEOUT_MS=120000 \
    CACHE_FIRST_LOAD_WAIT_MS=120000 BIND=127.0.0.1:$PORT "$BIN" serve >"$LOG" 2>&1 &
  SUP=$!; pids+=($SUP)
  wait_http "http://127.0.0.1:$PORT/health/live" 120
  await_loaded_worker "$SUP" "$PORT" "$DB"
  report_loaded_worker "$N" "$seeded" "$LOG" 2
  wrk_latency "  summary" "$BASE/api/wip/overview/summary" -t1 -c8 -d"${DURATION}s" -H "Cookie: $COOKIE"

  if [ "$first" = 1 ]; then
    first=0
    # A filtered detail page: the busiest workcenter, its commonest package, sorted by quantity.
    read -r WC PKG < <(curl -fs -H "Cookie: $COOKIE" "$BASE/api/wip/overview/matrix" | python3 -c '
import json, sys
rows = json.load(sys.stdin)["data"]["rows"]
row = max(rows, key=lambda r: r["total"]["lots"])
print(row["workcenter"], max(row["cells"], key=lambda p: row["cells"][p]["lots"]))')
    DETAIL="$BASE/api/wip/detail/$WC?package=$PKG&status=RUN,QUEUE&sort=quantity&dir=desc&page_size=100"
    SEARCH="$BASE/api/wip/meta/search?field=lotid&q=12&limit=20"
    curl -fs -H "Cookie: $COOKIE" "$DETAIL" >"$WORK/detail.json"
    curl -fs -H "Cookie: $COOKIE" "$SEARCH" >/dev/null
    BPORT=$(free_port)
    "$BARE" "127.0.0.1:$BPORT" "$WORK/detail.json" &
    BARE_PID=$!; pids+=($BARE_PID)
    wait_http "http://127.0.0.1:$BPORT/"
    echo "  # per-request CPU with $N lots ($WC × $PKG, RUN+QUEUE: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["data"]; print(d["total"], "lots,", d["count"], "on the page,")' "$WORK/detail.json") $(wc -c <"$WORK/detail.json") bytes)"
    cpu_run "bare hyper, detail's bytes" "$BARE_PID" "http://127.0.0.1:$BPORT/"
    cpu_run "filtered /api/wip/detail page" "$WORKER" "$DETAIL" -H "Cookie: $COOKIE"
    cpu_run "/wip-detail page (HTML), same lots" "$WORKER" "$BASE/wip-detail?workcenter=$WC&package=$PKG&status=RUN,QUEUE&sort=quantity&dir=desc" -H "Cookie: $COOKIE"
    cpu_run "/api/wip/meta/search (lotid)" "$WORKER" "$SEARCH" -H "Cookie: $COOKIE"
    cpu_run "/api/wip/overview/summary" "$WORKER" "$BASE/api/wip/overview/summary" -H "Cookie: $COOKIE"
    kill "$BARE_PID" 2>/dev/null || true
  fi
  kill "$SUP" 2>/dev/null || true
  wait "$SUP" 2>/dev/null || true
  rm -f "$DB" "$DB-wal" "$DB-shm"
done
