#!/usr/bin/env bash
# Server CPU per request, throughput and memory of the cached WIP summary for a logged-in user:
# the session cookie is verified and the session read on every request (in-process cache →
# database), the CSRF layer passes the GET, the JSON access log is on.
#
#   bash bench/wip_summary_logged_in.sh [seconds per run, default 10] [connections, default 32]
#
# BIN=path/to/mes-dashboard skips the release build and measures that binary.
#
# The dashboard runs in production mode on the embedded SQLite file. Production refuses local
# users and no LDAP API exists here, so the script writes one session straight into the
# `sessions` table and signs its cookie with SECRET_KEY exactly as the server does
# (HMAC-SHA256 over "mes-dashboard/session-cookie/v1:" + id, base64url).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-10}
CONNS=${2:-32}
source bench/lib.sh
need_wrk
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin mes-dashboard
  BIN=target/release/mes-dashboard
fi
WORK=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

KEY=$("$BIN" gen-secret)
DB="$WORK/bench.sqlite3"
PORT=$(free_port)
DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" migrate >/dev/null 2>&1
DATABASE_URL="sqlite://$DB" MES_ENV=testing "$BIN" seed --lots 20000 --tools 500 --days 7 >/dev/null 2>&1
# WORKERS=0: in-process serving, so the CPU of one process is the CPU of the requests.
WORKERS=0 MES_ENV=production SECRET_KEY=$KEY ALLOW_SQLITE_IN_PRODUCTION=true DATABASE_URL="sqlite://$DB" \
  LOG_FORMAT=json RUST_LOG=info BIND=127.0.0.1:$PORT "$BIN" serve >"$WORK/access.log" 2>&1 &
pid=$!
wait_http "http://127.0.0.1:$PORT/health/live"

COOKIE=$(KEY=$KEY DB=$DB python3 - <<'PY'
import base64, datetime, hashlib, hmac, json, os, secrets, sqlite3
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
sid = b64(secrets.token_bytes(32))
data = {"user": {"username": "bench", "display_name": "Bench", "mail": "bench@example.com",
                 "department": None}, "csrf_secret": b64(secrets.token_bytes(32))}
expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).isoformat()
con = sqlite3.connect(os.environ["DB"])
con.execute("INSERT INTO sessions (id, data, expires_at) VALUES (?, ?, ?)", (sid, json.dumps(data), expires))
con.commit()
sig = hmac.new(os.environ["KEY"].encode(), b"mes-dashboard/session-cookie/v1:" + sid.encode(), hashlib.sha256).digest()
print(f"mes_session={sid}.{b64(sig)}")
PY
)
URL="http://127.0.0.1:$PORT/api/wip/overview/summary"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$URL")
[ "$code" = 200 ] || { echo "the logged-in request answered $code" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL")" = 401 ] || { echo "anonymous must be 401" >&2; exit 1; }

before=$(cpu_ticks "$pid")
out=$(wrk --latency -t2 -c"$CONNS" -d"${DURATION}s" -H "Cookie: $COOKIE" "$URL")
after=$(cpu_ticks "$pid")
total=$(awk '/requests in/ {print $1}' <<<"$out")
rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
non2xx=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
cpu_us=$(awk -v t=$((after - before)) -v n="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
echo "# logged-in cached WIP summary, ${DURATION}s, 2 wrk threads, $CONNS connections, $(nproc) cores"
printf '%10s req/s   %7s µs CPU/request   p99 %8s   RSS %6s KiB   non-2xx %s\n' \
  "$rps" "$cpu_us" "$p99" "$(rss_kib "$pid")" "${non2xx:-0}"
