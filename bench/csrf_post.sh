#!/usr/bin/env bash
# Throughput and server CPU per request of a CSRF-checked POST (`POST /api/wip/lots/lookup`,
# three lots and one unknown id, as a page of the dashboard sends it: session cookie,
# same-origin `Origin` and `Sec-Fetch-Site`, the masked token in `X-CSRF-Token`) against a bare
# hyper server that reads the same body and returns the same answer's bytes, in the same run.
#
#   bash bench/csrf_post.sh [seconds per run, default 10] [connections, default 64]
#
# The dashboard runs in production mode with everything on (see bench/wip_summary.sh): the
# origin checks, the token verified against the session's secret, the JSON body parsed and
# validated, the lots looked up in the WIP snapshot, the JSON access log written to a file.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNS=${2:-64}
bench_setup

start_production_dashboard

# The first WIP load must be done before the lookup answers from the snapshot.
await_wip_data "$PORT" "$DB"
LUA=$(csrf_lookup_setup "$BASE" "$COOKIE" "https://127.0.0.1:$PORT")

BPORT=$(free_port)
"$BARE" "127.0.0.1:$BPORT" "$WORK/lookup.json" &
BARE_PID=$!; pids+=($BARE_PID)
wait_http "http://127.0.0.1:$BPORT/"

echo "# CSRF-checked POST /api/wip/lots/lookup ($(wc -c <"$WORK/lookup.json") bytes answered), ${DURATION}s per run, 2 wrk threads, $CONNS connections, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before"
bench_run "bare hyper (baseline)" "$BARE_PID" "http://127.0.0.1:$BPORT/" -s "$LUA"
bench_run "mes-dashboard lookup POST" "$DASH" "$BASE/api/wip/lots/lookup" -s "$LUA"
bench_ratio "mes-dashboard lookup POST" "bare hyper (baseline)" 0.50
