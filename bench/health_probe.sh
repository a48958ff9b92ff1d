#!/usr/bin/env bash
# Throughput and server CPU per request of the `/health` probe (the memoized answer, served as
# ready bytes) against a bare hyper server returning the same bytes, in the same run on the
# same machine; then the same for `/health/live`.
#
#   bash bench/health_probe.sh [seconds per run, default 10] [connections, default 64]
#
# The dashboard runs in production mode (HEALTH_MEMO_TTL_SECONDS applies: one check per memo
# period, the body serialized once per check), with the JSON access log written to a file and
# the security headers on, serving in-process (WORKERS=0) on the embedded SQLite database so one
# process's CPU is the requests' CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
CONNS=${2:-64}
bench_setup

start_production_dashboard

curl -fs "http://127.0.0.1:$PORT/health" >"$WORK/health.json" || { echo "/health failed" >&2; exit 1; }
BPORT=$(free_port)
"$BARE" "127.0.0.1:$BPORT" "$WORK/health.json" &
BARE_PID=$!; pids+=($BARE_PID)
wait_http "http://127.0.0.1:$BPORT/"

echo "# /health ($(wc -c <"$WORK/health.json") bytes), ${DURATION}s per run, 2 wrk threads, $CONNS connections, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) before"
bench_run "bare hyper (baseline)" "$BARE_PID" "http://127.0.0.1:$BPORT/"
bench_run "mes-dashboard /health" "$DASH" "http://127.0.0.1:$PORT/health"
bench_run "mes-dashboard /health/live" "$DASH" "http://127.0.0.1:$PORT/health/live"
bench_ratio "mes-dashboard /health" "bare hyper (baseline)" 0.80
