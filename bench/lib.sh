# Shared helpers of the benchmark scripts (sourced, not run).

# Installs wrk from the distribution's packages when it is missing.
need_wrk() {
  if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk (HTTP load generator)…" >&2
    if command -v apt-get >/dev/null 2>&1; then
      (apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null 2>&1) || true
    fi
    command -v wrk >/dev/null 2>&1 || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL [seconds]: polls until URL answers.
wait_http() {
  local url=$1 limit=${2:-60} i
  for ((i = 0; i < limit * 10; i++)); do
    curl -fs -o /dev/null "$url" && return 0
    sleep 0.1
  done
  echo "no answer from $url after ${limit}s" >&2
  return 1
}

# wrk_latency LABEL URL [wrk args…]: runs wrk with --latency and prints one summary line:
# label, requests/s, p50, p99, errors.
wrk_latency() {
  local label=$1 url=$2; shift 2
  local out
  out=$(wrk --latency "$@" "$url")
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  errors=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
  local socket_errors
  socket_errors=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' <<<"$out")
  printf '%-34s %10s req/s   p50 %8s   p99 %8s   non-2xx %s   socket errors %s\n' \
    "$label" "$rps" "$p50" "$p99" "${errors:-0}" "${socket_errors:-0}"
}

# login BASE_URL USER PASSWORD JAR: logs in through the JSON API (CSRF token first) and keeps
# the session cookie in the curl cookie jar JAR; fails unless the login answers 200.
login() {
  local base=$1 user=$2 password=$3 jar=$4 token code
  token=$(curl -s -c "$jar" -b "$jar" "$base/api/auth/csrf" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["csrf_token"])')
  code=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" -H "X-CSRF-Token: $token" \
    -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$password\"}" "$base/api/auth/login")
  [[ $code == 200 ]] || { echo "login as $user answered $code" >&2; return 1; }
}

# mint_session_cookie SECRET_KEY DATABASE: writes one logged-in session straight into the
# `sessions` table and prints its `mes_session=…` cookie, signed as the server signs it
# (HMAC-SHA256 over "mes-dashboard/session-cookie/v1:" + id, base64url). For benchmarks of
# production mode, which refuses local users and has no LDAP API here. DATABASE: a SQLite file, or
# a PostgreSQL URL (written with psql).
mint_session_cookie() {
  KEY=$1 DB=$2 python3 - <<'PY'
import base64, datetime, hashlib, hmac, json, os, secrets, sqlite3
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
sid = b64(secrets.token_bytes(32))
data = {"user": {"username": "bench", "display_name": "Bench", "mail": "bench@example.com",
                 "department": None}, "csrf_secret": b64(secrets.token_bytes(32))}
expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).isoformat()
if os.environ["DB"].startswith("postgres"):
    import subprocess
    sql = "INSERT INTO sessions (id, data, expires_at) VALUES ('%s', '%s', '%s')" % (
        sid, json.dumps(data).replace("'", "''"), expires)
    subprocess.run(["psql", "-q", os.environ["DB"], "-c", sql], check=True, stdout=subprocess.DEVNULL)
else:
    con = sqlite3.connect(os.environ["DB"])
    con.execute("INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)", (sid, json.dumps(data), expires))
    con.commit()
sig = hmac.new(os.environ["KEY"].encode(), b"mes-dashboard/session-cookie/v1:" + sid.encode(), hashlib.sha256).digest()
print(f"mes_session={sid}.{b64(sig)}")
PY
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# await_wip_data PORT DATABASE: mints a logged-in session on DATABASE (COOKIE), sets BASE and
# waits (up to 300 s) until the logged-in summary answers: the first WIP load is done.
await_wip_data() {
  local i
  COOKIE=$(mint_session_cookie "$KEY" "$2")
  BASE="http://127.0.0.1:$1"
  for ((i = 0; i < 600; i++)); do
    curl -fs -o /dev/null -H "Cookie: $COOKIE" "$BASE/api/wip/overview/summary" && break
    sleep 0.5
  done
}

# await_loaded_worker SUPERVISOR_PID PORT DATABASE: await_wip_data, then sets WORKER (the
# supervisor's worker) and WORKER_CPU_MS (its CPU from its start: start-up and the load; wall
# time on a busy machine says more about the machine than about the load).
await_loaded_worker() {
  await_wip_data "$2" "$3"
  WORKER=$(pgrep -P "$1" | head -1)
  WORKER_CPU_MS=$(awk -v t="$(cpu_ticks "$WORKER")" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", t / hz * 1000}')
}

# report_loaded_worker LOTS SEEDED_SECONDS LOG SETTLE_SECONDS: after SETTLE_SECONDS (what the
# load freed goes back to the system), one line: the worker's RSS and peak, the snapshot's size
# and the load time from its log line, its CPU by then.
report_loaded_worker() {
  local load_ms heap
  sleep "$4"
  load_ms=$(grep -o '"load_ms":[0-9]*' "$3" | head -1 | cut -d: -f2)
  heap=$(grep -o '"heap_bytes":[0-9]*' "$3" | head -1 | cut -d: -f2)
  printf '%8s lots: seeded in %ss; worker RSS %s MiB (peak %s MiB), snapshot %s MiB, loaded in %s ms (worker CPU by then %s ms)\n' \
    "$1" "$2" "$(($(rss_kib "$WORKER") / 1024))" "$(($(hwm_kib "$WORKER") / 1024))" \
    "$(awk -v b="${heap:-0}" 'BEGIN {printf "%.1f", b / 1048576}')" "${load_ms:-?}" "$WORKER_CPU_MS"
}

# bench_run LABEL PID URL [wrk args…]: wrk against URL for $DURATION s with $CONNS connections,
# then one line: requests/s, µs of server CPU per request (the process PID's user+system CPU
# during the run divided by the requests served), p99, RSS, non-2xx. Keeps the rate in
# $WORK/LABEL.rps for bench_ratio.
bench_run() {
  local label=$1 pid=$2 url=$3 before after out rps total cpu_us p99 non2xx tick
  shift 3
  tick=$(getconf CLK_TCK)
  before=$(cpu_ticks "$pid")
  out=$(wrk --latency -t2 -c"$CONNS" -d"${DURATION}s" "$@" "$url")
  after=$(cpu_ticks "$pid")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
  cpu_us=$(awk -v t=$((after - before)) -v n="$total" -v hz="$tick" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  printf '%-30s %10s req/s   %7s µs CPU/request   p99 %8s   RSS %6s KiB   non-2xx %s\n' \
    "$label" "$rps" "$cpu_us" "$p99" "$(rss_kib "$pid")" "${non2xx:-0}"
  echo "$rps" >"$WORK/$(rps_file "$label")"
}

# The file bench_run keeps a label's rate in (labels may hold '/' and spaces).
rps_file() { printf '%s.rps' "${1//[^A-Za-z0-9]/_}"; }

# bench_ratio LABEL BASELINE_LABEL BAR: throughput of LABEL over BASELINE_LABEL's.
bench_ratio() {
  awk -v a="$(cat "$WORK/$(rps_file "$1")")" -v b="$(cat "$WORK/$(rps_file "$2")")" -v bar="$3" -v l="$1" -v r="$2" \
    'BEGIN {printf "# %s / %s throughput: %.2f (bar: at least %s)\n", l, r, a / b, bar}'
}

# bench_setup: builds the release binary and the bare baseline server (unless BIN and BARE
# name binaries already built, e.g. to compare two versions), makes the scratch folder $WORK and
# kills every pid pushed on `pids` (and removes $WORK) when the script exits.
bench_setup() {
  need_wrk
  if [ -z "${BIN:-}" ] || [ -z "${BARE:-}" ]; then
    cargo build --release --quiet --bin mes-dashboard --example bare_server
    BIN=target/release/mes-dashboard
    BARE=target/release/examples/bare_server
  fi
  WORK=$(mktemp -d)
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}

# start_production_dashboard: seeds 20 000 lots into $WORK/bench.sqlite3 and serves them in one
# production process (WORKERS=0, JSON access log to $WORK/access.log); sets KEY, DB, PORT, DASH.
start_production_dashboard() {
  KEY=$("$BIN" gen-secret)
  DB="$WORK/bench.sqlite3"
  PORT=$(free_port)
  DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" migrate >/dev/null 2>&1
  DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" seed --lots 20000 --tools 500 --days 7 >/dev/null 2>&1
  WORKERS=0 MES_ENV=production SECRET_KEY=$KEY ALLOW_SQLITE_IN_PRODUCTION=true \
    DATABASE_URL="sqlite://$DB" LOG_FORMAT=json RUST_LOG=info \
    BIND=127.0.0.1:$PORT "$BIN" serve >"$WORK/access.log" 2>&1 &
  DASH=$!; pids+=("$DASH")
  wait_http "http://127.0.0.1:$PORT/health/live"
}

# wrk_post_script FILE BODY [HEADER…]: writes a wrk Lua script to FILE that sends every request
# as a POST with BODY and the given headers ("Name: value" each).
wrk_post_script() {
  local file=$1 body=$2 h
  shift 2
  {
    echo 'wrk.method = "POST"'
    printf 'wrk.body = [==[%s]==]\n' "$body"
    for h in "$@"; do
      printf 'wrk.headers[ [==[%s]==] ] = [==[%s]==]\n' "${h%%: *}" "${h#*: }"
    done
  } >"$file"
}

# csrf_lookup_setup BASE_URL COOKIE ORIGIN: for a CSRF-checked POST /api/wip/lots/lookup as a
# browser page sends it (`Origin: ORIGIN`, `Sec-Fetch-Site: same-origin`, the session's masked
# token in `X-CSRF-Token`): prints the wrk Lua script's path, written under $WORK, after
# checking the POST answers 200. The body asks for three lots of $DB and one unknown id.
# Production mode sets secure cookies, so the origin it is served under is https://host:port.
csrf_lookup_setup() {
  local base=$1 cookie=$2 origin=$3 token ids body
  token=$(curl -fs -H "Cookie: $cookie" "$base/api/auth/csrf" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["csrf_token"])')
  ids=$(python3 -c 'import json,sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(json.dumps([r[0] for r in c.execute("SELECT lot_id FROM lots ORDER BY lot_id LIMIT 3")] + ["NO-SUCH-LOT"]))' "$DB")
  body="{\"lot_ids\":$ids}"
  local headers=("Cookie: $cookie" "X-CSRF-Token: $token" "Content-Type: application/json"
    "Origin: $origin" "Sec-Fetch-Site: same-origin")
  local args=() h
  for h in "${headers[@]}"; do args+=(-H "$h"); done
  curl -fs "${args[@]}" -d "$body" "$base/api/wip/lots/lookup" >"$WORK/lookup.json" ||
    { echo "the CSRF-checked lookup failed" >&2; return 1; }
  wrk_post_script "$WORK/lookup.lua" "$body" "${headers[@]}"
  echo "$WORK/lookup.lua"
}
