#!/usr/bin/env bash
# What open event streams cost: one production process (WORKERS=0) with 20 000 lots; its RSS
# before and while N logged-in browsers' streams (`GET /api/events`, one curl each) are open,
# the count the server reports (`mes_event_streams_open` in /metrics), and the per-stream cost.
#
#   bash bench/event_streams.sh [streams, default 100]
#
# Needs curl and python3 (sqlite3 through python3, for the session cookie).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

N=${1:-100}
bench_setup
start_production_dashboard
await_wip_data "$PORT" "$DB"

open_streams() {
  curl -fs "$BASE/metrics" | awk '$1 == "mes_event_streams_open" {print $2}'
}

# One stream first, closed again: whatever is set up once per process (the health watch, the
# first subscription) is not counted against the N below.
curl -sN -H "Cookie: $COOKIE" "$BASE/api/events" >/dev/null &
first=$!
for ((i = 0; i < 100; i++)); do [ "$(open_streams)" = 1 ] && break; sleep 0.1; done
kill "$first"; wait "$first" 2>/dev/null || true
sleep 2
before=$(rss_kib "$DASH")

streams=()
for ((i = 0; i < N; i++)); do
  curl -sN -H "Cookie: $COOKIE" "$BASE/api/events" >/dev/null &
  streams+=($!); pids+=($!)
done
for ((i = 0; i < 300; i++)); do
  [ "$(open_streams)" = "$N" ] && break
  sleep 0.1
done
opened=$(open_streams)
sleep 2
during=$(rss_kib "$DASH")
for p in "${streams[@]}"; do kill "$p" 2>/dev/null || true; done

echo "# event streams: one process, 20 000 lots, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
printf 'RSS before %s KiB; with %s open streams (server says %s) %s KiB: +%s KiB, %s KiB per stream\n' \
  "$before" "$N" "$opened" "$during" "$((during - before))" \
  "$(awk -v d=$((during - before)) -v n="$N" 'BEGIN {printf "%.1f", d / n}')"
[ "$opened" = "$N" ] || { echo "the server reports $opened open streams, not $N" >&2; exit 1; }
