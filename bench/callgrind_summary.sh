#!/usr/bin/env bash
# Instructions per logged-in cached WIP summary request, counted by callgrind: unlike seconds,
# the count repeats for the same binary and inputs whatever else the machine is doing, so it
# compares two versions of the hot path reliably (run it on each, BIN=…).
#
#   bash bench/callgrind_summary.sh [seconds, default 10]
#   BIN=path/to/mes-dashboard bash bench/callgrind_summary.sh
#   TARGET=detail bash bench/callgrind_summary.sh   # the filtered /api/wip/detail page instead
#   TOP=25 bash bench/callgrind_summary.sh           # and the 25 costliest functions (inclusive)
#   TARGET=live bash bench/callgrind_summary.sh     # /health/live: the shared request path alone
#   TARGET=health bash bench/callgrind_summary.sh   # /health (the memoized probe)
#   TARGET=csrf bash bench/callgrind_summary.sh     # CSRF-checked POST /api/wip/lots/lookup
#   TARGET=holdlots bash bench/callgrind_summary.sh # /api/hold-overview/lots (default: 100 rows)
#   TARGET=holdtype bash bench/callgrind_summary.sh # the same, quality holds by days at station
#   TARGET=qclots bash bench/callgrind_summary.sh   # /api/qc-gate/lots (default: 200 rows)
#   KEEP=cg.out bash bench/callgrind_summary.sh     # keep callgrind's output file
#   LOTS=2000 bash bench/callgrind_summary.sh       # a smaller plant (quicker first load)
#   FIRST_LOAD_SECONDS=900 bash bench/callgrind_summary.sh  # wait longer for the first load
#
# TARGET=detail asks for the page wip_scale.sh measures: the busiest workcenter, its commonest
# package, RUN+QUEUE, sorted by quantity (descending), 100 lots a page.
#
# The server runs under valgrind (in-process, WORKERS=0, production mode, JSON access log);
# counters are zeroed after a warm-up, wrk sends requests for the given time with 4
# connections, then the counters are dumped and divided by the requests served. Needs
# valgrind and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-10}
need_wrk
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin mes-dashboard
  BIN=target/release/mes-dashboard
fi
WORK=$(mktemp -d)
vpid=""
cleanup() {
  [ -n "$vpid" ] && kill "$vpid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

KEY=$("$BIN" gen-secret)
DB="$WORK/bench.sqlite3"
DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" migrate >/dev/null 2>&1
DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" seed --lots "${LOTS:-20000}" --tools 500 --days 7 >/dev/null 2>&1
PORT=$(free_port)
# Under valgrind on a machine busy with builds the first WIP load (20 000 lots) can outlast
# the default 15 s database call timeout (it then fails and starts again, for ever): allow 15
# minutes here unless DB_CALL_TIMEOUT_MS is given.
DB_CALL_TIMEOUT_MS=${DB_CALL_TIMEOUT_MS:-900000} WORKERS=0 MES_ENV=production SECRET_KEY=$KEY ALLOW_SQLITE_IN_PRODUCTION=true DATABASE_URL="sqlite://$DB" \
  LOG_FORMAT=json RUST_LOG=info BIND=127.0.0.1:$PORT \
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$BIN" serve >"$WORK/log" 2>&1 &
vpid=$!
wait_http "http://127.0.0.1:$PORT/health/live" 120

# One session written straight into the database (see mint_session_cookie in bench/lib.sh).
COOKIE=$(mint_session_cookie "$KEY" "$DB")
URL="http://127.0.0.1:$PORT/api/wip/overview/summary"
# Under valgrind the first WIP load (20 000 lots) can outlast CACHE_FIRST_LOAD_WAIT_MS on a busy
# machine: retry the logged-in request (503 until then) for up to FIRST_LOAD_SECONDS (default
# four minutes; a machine loaded by builds may need more).
for ((i = 0; i < 2 * ${FIRST_LOAD_SECONDS:-240}; i++)); do
  curl -fs -o /dev/null -H "Cookie: $COOKIE" "$URL" && break
  sleep 0.5
done
curl -fs -H "Cookie: $COOKIE" "$URL" >/dev/null || { echo "the logged-in request failed" >&2; exit 1; }
LABEL="logged-in cached WIP summary"
if [ "${TARGET:-summary}" = detail ]; then
  read -r WC PKG < <(curl -fs -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/api/wip/overview/matrix" | python3 -c '
import json, sys
rows = json.load(sys.stdin)["data"]["rows"]
row = max(rows, key=lambda r: r["total"]["lots"])
print(row["workcenter"], max(row["cells"], key=lambda p: row["cells"][p]["lots"]))')
  URL="http://127.0.0.1:$PORT/api/wip/detail/$WC?package=$PKG&status=RUN,QUEUE&sort=quantity&dir=desc&page_size=100"
  curl -fs -H "Cookie: $COOKIE" "$URL" >/dev/null || { echo "the detail request failed" >&2; exit 1; }
  LABEL="filtered /api/wip/detail page ($WC × $PKG)"
fi
WRK_ARGS=(-H "Cookie: $COOKIE")
case "${TARGET:-summary}" in
  live | health)
    URL="http://127.0.0.1:$PORT/health"
    [ "$TARGET" = live ] && URL="$URL/live"
    curl -fs "$URL" >/dev/null || { echo "$URL failed" >&2; exit 1; }
    LABEL="${URL#http://127.0.0.1:$PORT} (no cookie)"
    WRK_ARGS=()
    ;;
  csrf)
    URL="http://127.0.0.1:$PORT/api/wip/lots/lookup"
    WRK_ARGS=(-s "$(csrf_lookup_setup "http://127.0.0.1:$PORT" "$COOKIE" "https://127.0.0.1:$PORT")")
    LABEL="CSRF-checked POST /api/wip/lots/lookup"
    ;;
  holdlots | holdtype | qclots)
    case "$TARGET" in
      holdlots) URL="http://127.0.0.1:$PORT/api/hold-overview/lots" ;;
      holdtype) URL="http://127.0.0.1:$PORT/api/hold-overview/lots?hold_type=quality&sort=age_days&dir=desc" ;;
      qclots) URL="http://127.0.0.1:$PORT/api/qc-gate/lots" ;;
    esac
    curl -fs -H "Cookie: $COOKIE" "$URL" >/dev/null || { echo "$URL failed" >&2; exit 1; }
    LABEL="${URL#http://127.0.0.1:$PORT} (default page size)"
    ;;
esac
wrk -t1 -c4 -d5s "${WRK_ARGS[@]}" "$URL" >/dev/null
callgrind_control -z "$vpid" >/dev/null 2>&1
out=$(wrk -t1 -c4 -d"${DURATION}s" "${WRK_ARGS[@]}" "$URL")
callgrind_control -d "$vpid" >/dev/null 2>&1
requests=$(awk '/requests in/ {print $1}' <<<"$out")
total=$(callgrind_annotate "$WORK/cg.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "# $LABEL under callgrind: $requests requests"
echo "instructions per request: $((total / requests))"
# KEEP=file keeps callgrind's output (for callgrind_annotate, e.g. without --inclusive).
[ -n "${KEEP:-}" ] && cp "$WORK/cg.out.1" "$KEEP"
if [ -n "${TOP:-}" ]; then
  callgrind_annotate --inclusive=yes "$WORK/cg.out.1" 2>/dev/null | grep -v '^--' | sed -n "1,$((TOP + 20))p"
fi
