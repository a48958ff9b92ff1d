#!/usr/bin/env bash
# Server CPU per request of every report page's HTML and of the hold APIs, for a logged-in user
# on the 20 000-lot seeded factory (500 tools) served in production mode by one process (see
# bench/wip_summary.sh for what runs on every request and how CPU is counted). A bare hyper
# server returning the WIP overview page's bytes runs in the same script as the floor.
#
#   bash bench/pages.sh [seconds per run, default 5] [connections, default 8]
#
# Bars (team rules): a page's HTML under 1 ms of CPU, an API served from memory under 100 µs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-5}
CONNS=${2:-8}
bench_setup
start_production_dashboard

await_wip_data "$PORT" "$DB"
WC=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/wip/overview/matrix" | python3 -c '
import json, sys
rows = json.load(sys.stdin)["data"]["rows"]
print(max(rows, key=lambda r: r["total"]["lots"])["workcenter"])')
REASON=$(curl -fs -H "Cookie: $COOKIE" "$BASE/api/hold-overview/lots?page_size=1&sort=age_days&dir=desc" | python3 -c '
import json, sys, urllib.parse
print(urllib.parse.quote(json.load(sys.stdin)["data"]["lots"][0]["hold_reason"]))')

PAGES=("/" "/wip-overview" "/wip-overview?status=QUEUE&package=SOP-8" "/wip-detail?workcenter=$WC"
  "/hold-overview" "/hold-detail?reason=$REASON" "/hold-history" "/resource" "/qc-gate"
  "/resource-history" "/job-query")
APIS=("/api/hold-overview/summary" "/api/hold-overview/matrix" "/api/hold-overview/lots"
  "/api/hold-overview/summary?hold_type=quality&age_range=7%2B"
  "/api/hold-overview/lots?hold_type=quality&sort=age_days&dir=desc"
  "/api/hold-detail/summary?reason=$REASON" "/api/hold-detail/distribution?reason=$REASON"
  "/api/hold-detail/lots?reason=$REASON")
for path in "${PAGES[@]}" "${APIS[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE$path")
  [ "$code" = 200 ] || { echo "$path answered $code, not 200" >&2; exit 1; }
done

curl -fs -H "Cookie: $COOKIE" "$BASE/wip-overview" >"$WORK/overview.html"
BPORT=$(free_port)
"$BARE" "127.0.0.1:$BPORT" "$WORK/overview.html" &
BARE_PID=$!; pids+=("$BARE_PID")
wait_http "http://127.0.0.1:$BPORT/"

echo "# pages and hold APIs: 20 000 lots, 500 tools, workcenter $WC, ${DURATION}s per run, $CONNS connections, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before"
bench_run "bare hyper (overview bytes)" "$BARE_PID" "http://127.0.0.1:$BPORT/"
for path in "${PAGES[@]}" "${APIS[@]}"; do
  bench_run "$path" "$DASH" "$BASE$path" -H "Cookie: $COOKIE"
done
