#!/usr/bin/env bash
# Equipment history on PostgreSQL (issue 13): a 366-day daily history of 2 000 tools
# (`seed --tools 2000 --days 366`), through the slow pool. The p50 of the query answered at
# once (200, ASYNC_QUERY_DAYS past the range; target under 2 s), and the time the same range
# takes as a background job (202, then polling its status every 50 ms).
#
# Needs PostgreSQL (MES_BENCH_DATABASE_URL, default the local test database) and psql. Uses a
# schema of its own, dropped at the end. Run it on a quiet machine.
#
#   bash bench/resource_history.sh [queries for the p50, default 11] [jobs, default 3]
#
# MES_BENCH_PROFILE=debug uses the debug build instead of building the release one; BIN=path
# runs that binary as it is (no build). The sums are PostgreSQL's work (the closed days from
# the per-day rollup the seed writes, today from the spans), so the baseline below is the
# yardstick on a busy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

QUERIES=${1:-11}
JOBS=${2:-3}
BASE_URL=${MES_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; }

if [[ -n ${BIN:-} ]]; then
  : # a binary given (BIN=…): e.g. the previous version, for a comparison in the same session
elif [[ ${MES_BENCH_PROFILE:-release} == debug ]]; then
  # The build the tests use (a plain `cargo build` unifies features differently and
  # rebuilds dependencies).
  cargo build --tests --quiet
  BIN=target/debug/mes-dashboard
else
  nice -n 19 cargo build --release --quiet
  BIN=target/release/mes-dashboard
fi
echo "# $(basename "$(dirname "$BIN")") build; load average $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
# MES_BENCH_SCHEMA=name: a schema seeded by an earlier run (kept, not seeded again).
SCHEMA=${MES_BENCH_SCHEMA:-bench_$$}
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
  [[ -n ${MES_BENCH_SCHEMA:-} ]] ||
    psql -q "$BASE_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1 || true
  rm -f "$LOG" "$JAR"
}
trap cleanup EXIT

started=$(date +%s.%N)
if [[ -z ${MES_BENCH_SCHEMA:-} ]]; then
  psql -q "$BASE_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
  DATABASE_URL=$DB_URL MES_ENV=testing "$BIN" seed --tools 2000 --days 366 >/dev/null
fi
spans=$(psql -qtA "$DB_URL" -c "SELECT count(*) FROM equipment_state_history")
psql -q "$DB_URL" -c "ANALYZE" >/dev/null
if [[ -z ${MES_BENCH_SCHEMA:-} ]]; then
  printf '# seeded 2000 tools, %s state spans in %.0f s\n' "$spans" "$(echo "$(date +%s.%N) - $started" | bc)"
else
  echo "# schema $SCHEMA as seeded before: $spans state spans"
fi

# The per-day rollup the seed wrote (absent for a schema seeded before it: the spans alone).
rolled=$(psql -qtA "$DB_URL" -c "SELECT rolled_before FROM equipment_state_rollup" 2>/dev/null || true)
echo "# rollup: shift days before ${rolled:-none} in equipment_state_daily"

# Baseline of this machine right now: PostgreSQL alone reading every span once.
base_ms=$(for _ in 1 2 3 4 5; do
  psql -qtA "$DB_URL" -c '\timing on' -c 'SELECT count(*), max(started_at) FROM equipment_state_history' |
    awk '/^Time:/ {print $2}'
done | sort -n | sed -n 3p)
echo "# baseline: one pass over equipment_state_history in PostgreSQL, median of 5: ${base_ms} ms"

run_server() {
  LOCAL_AUTH_USERS="bench:bench@example.com:$(printf bench-password | "$BIN" hash-password)" \
  MES_ENV=testing BIND=127.0.0.1:$PORT DATABASE_URL=$DB_URL RUST_LOG=warn ASYNC_QUERY_DAYS=$1 \
    WORKERS=0 "$BIN" serve >"$LOG" 2>&1 &
  pids+=($!)
  wait_http "$BASE/health/live"
  login "$BASE" bench bench-password "$JAR"
  TOKEN=$(curl -s -c "$JAR" -b "$JAR" "$BASE/api/auth/csrf" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["csrf_token"])')
}
post() {
  curl -s -b "$JAR" -H "X-CSRF-Token: $TOKEN" -H 'Content-Type: application/json' "$@" \
    "$BASE/api/resource/history/query"
}

TODAY=$(TZ=Asia/Taipei date +%F)
FROM=$(TZ=Asia/Taipei date -d "$TODAY - 365 days" +%F)
BODY="{\"from\":\"$FROM\",\"to\":\"$TODAY\",\"granularity\":\"day\",\"page_size\":100}"

# ASYNC_QUERY_DAYS=400: the 366-day range answers at once.
run_server 400
echo "# $QUERIES queries of $FROM .. $TODAY (366 shift days, daily), one after the other"
times=()
for ((i = 0; i < QUERIES; i++)); do
  out=$(post -o /dev/null -w '%{http_code} %{time_total}' -d "$BODY")
  [[ ${out% *} == 200 ]] || { echo "query answered ${out% *}" >&2; cat "$LOG" >&2; exit 1; }
  times+=("${out#* }")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {
  printf "366-day daily history, 2 000 tools (200): p50 %.0f ms   min %.0f ms   max %.0f ms (target: p50 < 2000 ms)\n", a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000 }'
post -d "$BODY" | python3 -c '
import json,sys; d=json.load(sys.stdin)["data"]; k=d["kpi"]
print("#   tools %d, OU %% %s, AVAIL %% %s, periods %d, rows %d" % (
  k["tools"], k["ou_pct"], k["avail_pct"], len(d["series"]), d["detail"]["total"]))'
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# ASYNC_QUERY_DAYS=90 (the default): the same range runs as a job.
run_server 90
echo "# $JOBS jobs of the same range: POST (202) until the status says done"
for ((i = 0; i < JOBS; i++)); do
  t0=$(date +%s.%N)
  id=$(post -d "$BODY" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["data"]["job_id"])')
  while :; do
    state=$(curl -s -b "$JAR" "$BASE/api/jobs/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["state"])')
    [[ $state == done ]] && break
    [[ $state == queued || $state == running ]] || { echo "job $id ended $state" >&2; exit 1; }
    sleep 0.05
  done
  printf '366-day job %d: done in %.0f ms\n' "$((i + 1))" "$(echo "($(date +%s.%N) - $t0) * 1000" | bc)"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$JAR" "$BASE/api/jobs/$id/result?page=2&page_size=100")
echo "# its result, page 2: $code"
