#!/usr/bin/env bash
# Hold history on PostgreSQL over ~300 000 hold events (`seed --days 365 --holds-per-day 822`):
# the p50 of a 365-day query answered at once (200), and the time a 730-day query takes to
# finish as a background job (202, then polling its status every 50 ms).
#
# Needs PostgreSQL (MES_BENCH_DATABASE_URL, default the local test database) and psql. Uses a
# schema of its own, dropped at the end. Run it on a quiet machine.
#
#   bash bench/hold_history.sh [queries for the p50, default 21] [jobs, default 3]
#
# MES_BENCH_PROFILE=debug uses the debug build instead of building the release one (the work
# is PostgreSQL's; the figures differ little).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

QUERIES=${1:-21}
JOBS=${2:-3}
BASE_URL=${MES_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }

if [[ ${MES_BENCH_PROFILE:-release} == debug ]]; then
  # The build the tests use (a plain `cargo build` unifies features differently and
  # rebuilds dependencies).
  cargo build --tests --quiet
  BIN=target/debug/mes-dashboard
else
  cargo build --release --quiet
  BIN=target/release/mes-dashboard
fi
echo "# $(basename "$(dirname "$BIN")") build; load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
SCHEMA="bench_$$"
SEP='?'; [[ $BASE_URL == *\?* ]] && SEP='&'
DB_URL="${BASE_URL}${SEP}options=-c%20search_path%3D${SCHEMA}"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
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
started=$(date +%s.%N)
DATABASE_URL=$DB_URL MES_ENV=testing "$BIN" seed --days 365 --holds-per-day 822 >/dev/null
events=$(psql -qtA "$DB_URL" -c "SELECT count(*) FROM hold_events")
psql -q "$DB_URL" -c "ANALYZE" >/dev/null
printf '# seeded %s hold events in %.0f s\n' "$events" "$(echo "$(date +%s.%N) - $started" | bc)"

# Baseline of this machine right now: PostgreSQL alone reading every hold event once.
base_ms=$(for _ in 1 2 3 4 5; do
  psql -qtA "$DB_URL" -c '\timing on' -c 'SELECT count(*), sum(quantity) FROM hold_events' |
    awk '/^Time:/ {print $2}'
done | sort -n | sed -n 3p)
echo "# baseline: one pass over hold_events in PostgreSQL (count, sum), median of 5: ${base_ms} ms"

# ASYNC_QUERY_DAYS=366: a 365-day range answers at once, a 730-day one runs as a job.
LOCAL_AUTH_USERS="bench:bench@example.com:$(printf bench-password | "$BIN" hash-password)" \
MES_ENV=testing BIND=127.0.0.1:$PORT DATABASE_URL=$DB_URL RUST_LOG=warn ASYNC_QUERY_DAYS=366 \
  WORKERS=0 "$BIN" serve >"$LOG" 2>&1 &
pids+=($!)
wait_http "$BASE/health/live"
login "$BASE" bench bench-password "$JAR"
TOKEN=$(curl -s -c "$JAR" -b "$JAR" "$BASE/api/auth/csrf" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["csrf_token"])')

# Shift days end today (plant time); the seed's events reach back 365 days from now.
TODAY=$(TZ=Asia/Taipei date +%F)
FROM_365=$(TZ=Asia/Taipei date -d "$TODAY - 364 days" +%F)
FROM_730=$(TZ=Asia/Taipei date -d "$TODAY - 729 days" +%F)

post() {
  curl -s -b "$JAR" -H "X-CSRF-Token: $TOKEN" -H 'Content-Type: application/json' "$@" \
    "$BASE/api/hold-history/query"
}

echo "# $QUERIES queries of $FROM_365 .. $TODAY (365 shift days), one after the other"
times=()
for ((i = 0; i < QUERIES; i++)); do
  out=$(post -o /dev/null -w '%{http_code} %{time_total}' -d "{\"from\":\"$FROM_365\",\"to\":\"$TODAY\"}")
  [[ ${out% *} == 200 ]] || { echo "query answered ${out% *}" >&2; cat "$LOG" >&2; exit 1; }
  times+=("${out#* }")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
  printf "365-day query (200): p50 %.0f ms   min %.0f ms   max %.0f ms\n", a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000 }'
post -d "{\"from\":\"$FROM_365\",\"to\":\"$TODAY\"}" | python3 -c '
import json,sys; d=json.load(sys.stdin)["data"]; c=d["cards"]
print("#   new holds %d, releases %d, on hold at the end %d lots, detail rows %d" % (
  c["new_holds"]["count"], c["releases"]["count"], c["on_hold"]["lots"], d["detail"]["total"]))'

echo "# $JOBS jobs of $FROM_730 .. $TODAY (730 shift days): POST (202) until the status says done"
for ((i = 0; i < JOBS; i++)); do
  t0=$(date +%s.%N)
  id=$(post -d "{\"from\":\"$FROM_730\",\"to\":\"$TODAY\"}" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["data"]["job_id"])')
  while :; do
    state=$(curl -s -b "$JAR" "$BASE/api/jobs/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["state"])')
    [[ $state == done ]] && break
    [[ $state == queued || $state == running ]] || { echo "job $id ended $state" >&2; exit 1; }
    sleep 0.05
  done
  printf '730-day job %d: done in %.0f ms\n' "$((i + 1))" "$(echo "($(date +%s.%N) - $t0) * 1000" | bc)"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$JAR" "$BASE/api/jobs/$id/result?page=2&page_size=100")
echo "# its result, page 2: $code"
