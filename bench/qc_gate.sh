#!/usr/bin/env bash
# Server CPU per request of the QC-GATE report for a logged-in user: the summary API, one page
# of the lot list, one bucket's lots, and the /qc-gate page's HTML (chart, segment, 200 rows),
# on the 20 000-lot seeded factory served in production mode by one process (see
# bench/wip_summary.sh for what runs on every request and how CPU is counted).
#
#   bash bench/qc_gate.sh [seconds per run, default 10] [connections, default 8]
#
# Bars (PRODUCT / team rules): an API under ~100 µs CPU per request, a page's HTML under 1 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNS=${2:-8}
bench_setup

start_production_dashboard

COOKIE=$(mint_session_cookie "$KEY" "$DB")
BASE="http://127.0.0.1:$PORT"
for path in /api/qc-gate/summary /api/qc-gate/lots /qc-gate; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE$path")" = 200 ] \
    || { echo "$path must answer 200" >&2; exit 1; }
done
curl -fs -H "Cookie: $COOKIE" "$BASE/api/qc-gate/summary" >"$WORK/summary.json"
echo "# QC-GATE report, $(grep -o '"lots":[0-9]*' "$WORK/summary.json" | head -1) waiting lots, ${DURATION}s per run, 2 wrk threads, $CONNS connections, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before"
bench_run "GET /api/qc-gate/summary" "$DASH" "$BASE/api/qc-gate/summary" -H "Cookie: $COOKIE"
bench_run "GET /api/qc-gate/lots" "$DASH" "$BASE/api/qc-gate/lots" -H "Cookie: $COOKIE"
bench_run "GET /api/qc-gate/lots?bucket" "$DASH" "$BASE/api/qc-gate/lots?bucket=gt24h&limit=50" -H "Cookie: $COOKIE"
bench_run "GET /qc-gate (HTML)" "$DASH" "$BASE/qc-gate" -H "Cookie: $COOKIE"
