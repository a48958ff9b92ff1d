#!/usr/bin/env bash
# Server CPU per request of the filtered equipment status APIs with 2 000 tools: status,
# summary, matrix, options and open jobs, unfiltered (pre-serialized bytes) and filtered (the
# snapshot's bit-set indexes), for a logged-in user.
#
#   bash bench/resource_status.sh [seconds per run, default 10] [connections, default 32]
#
# The dashboard runs in production mode with everything on (session read per request, CSRF
# layer, JSON access log, security headers), on the embedded SQLite database, in-process
# (WORKERS=0) so one process's CPU is the requests' CPU. The figure includes the whole request
# (session, middleware, access log), not only the handler; the bar for the handler's own work is
# 50 µs (issue 13).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNS=${2:-32}
bench_setup

KEY=$("$BIN" gen-secret)
DB="$WORK/bench.sqlite3"
PORT=$(free_port)
DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" migrate >/dev/null 2>&1
DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" seed --lots 20000 --tools 2000 --days 2 >/dev/null 2>&1
WORKERS=0 MES_ENV=production SECRET_KEY=$KEY ALLOW_SQLITE_IN_PRODUCTION=true \
  DATABASE_URL="sqlite://$DB" LOG_FORMAT=json RUST_LOG=info \
  BIND=127.0.0.1:$PORT "$BIN" serve >"$WORK/access.log" 2>&1 &
DASH=$!; pids+=("$DASH")
wait_http "http://127.0.0.1:$PORT/health/live"
COOKIE=$(mint_session_cookie "$KEY" "$DB")
BASE="http://127.0.0.1:$PORT"

# Filter values from the fleet itself: the first workcenter group and location.
curl -fs -H "Cookie: $COOKIE" "$BASE/api/resource/status/options" >"$WORK/options.json"
read -r GROUP LOCATION < <(python3 -c '
import json, sys, urllib.parse
d = json.load(open(sys.argv[1]))["data"]
q = lambda v: urllib.parse.quote(v, safe="")
print(q(d["workcenter_group"][0]["value"]), q(d["location"][0]["value"]))' "$WORK/options.json")
FILTER="workcenter_group=$GROUP&location=$LOCATION&production=true"
TOOLS=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/resource/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["count"])')
MATCHED=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/resource/status?$FILTER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["count"])')

echo "# $TOOLS tools; filter $FILTER matches $MATCHED; ${DURATION}s per run, 2 wrk threads, $CONNS connections, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before"
bench_run "status (all)" "$DASH" "$BASE/api/resource/status" -H "Cookie: $COOKIE"
bench_run "status (filtered)" "$DASH" "$BASE/api/resource/status?$FILTER" -H "Cookie: $COOKIE"
bench_run "summary (filtered)" "$DASH" "$BASE/api/resource/status/summary?$FILTER" -H "Cookie: $COOKIE"
bench_run "matrix (filtered)" "$DASH" "$BASE/api/resource/status/matrix?$FILTER" -H "Cookie: $COOKIE"
bench_run "summary (state=UDT,SDT)" "$DASH" "$BASE/api/resource/status/summary?state=UDT,SDT" -H "Cookie: $COOKIE"
bench_run "options (filtered)" "$DASH" "$BASE/api/resource/status/options?$FILTER" -H "Cookie: $COOKIE"
bench_run "jobs/open (filtered)" "$DASH" "$BASE/api/resource/jobs/open?$FILTER" -H "Cookie: $COOKIE"
bench_run "health/live (floor)" "$DASH" "$BASE/health/live"
