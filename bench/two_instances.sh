#!/usr/bin/env bash
# Two instances behind nginx on this machine, as deploy/mes-dashboard@.service and
# deploy/nginx-two-instances.conf.example lay them out: each instance a supervisor with one
# worker on a loopback port, one shared PostgreSQL database (a scratch one, dropped at the end)
# and Redis (a key prefix of its own), nginx from the distribution in front. Shows:
#
#   1. a login on instance A is a login on instance B (sessions in the database and Redis);
#   2. one database load per WIP change across both instances (the other takes it from Redis),
#      and the change's `wip` event reaches an open /api/events stream on each instance; the
#      equipment sync reads the database once per interval across both (the leader's lock);
#   3. a rolling reload (SIGHUP A, wait until its log says the reload is complete, SIGHUP B,
#      the same) under load through nginx: 0 failed requests;
#   4. instance B killed (SIGKILL to its whole process group) under load: nginx routes around
#      it; failures at most the requests in flight on B at that instant.
#
#   bash bench/two_instances.sh [seconds of load per step, default 12] [connections, default 8]
#
# Needs PostgreSQL (MES_BENCH_PG, default postgres://postgres@127.0.0.1:5432), Redis
# (MES_BENCH_REDIS, default redis://127.0.0.1:6379/), nginx and wrk. Runs the release build at
# `nice -n 19` (`BIN=…` to run a binary already built). Runs in MES_ENV=testing so a local bench user can log in (production refuses
# local users and there is no LDAP API here); everything else is as in production.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

DURATION=${1:-12}
CONNS=${2:-8}
PG=${MES_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${MES_BENCH_REDIS:-redis://127.0.0.1:6379/}
need_wrk
command -v nginx >/dev/null || { echo "nginx is needed (Debian: nginx)" >&2; exit 1; }
if [[ -z ${BIN:-} ]]; then
  nice -n 19 cargo build --release --quiet --bin mes-dashboard
  BIN=target/release/mes-dashboard
fi
WORK=$(mktemp -d)
chmod 755 "$WORK"
pids=()
DBNAME="mes_two_$$"
PREFIX="mes-two-$$"
cleanup() {
  [[ -f $WORK/nginx/nginx.pid ]] && nginx -p "$WORK/nginx" -c nginx.conf -s stop 2>/dev/null || true
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  dropdb --if-exists -f -d "$PG/postgres" "$DBNAME" 2>/dev/null || dropdb --if-exists "$DBNAME" -h 127.0.0.1 -U postgres 2>/dev/null || true
  redis-cli -u "$REDIS" --scan --pattern "$PREFIX*" | xargs -r redis-cli -u "$REDIS" del >/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

createdb -h 127.0.0.1 -U postgres "$DBNAME"
DB_URL="$PG/$DBNAME"
KEY=$("$BIN" gen-secret)
HASH=$(printf '%s' 'bench-password' | "$BIN" hash-password)
SECRET_KEY=$KEY DATABASE_URL=$DB_URL MES_ENV=testing "$BIN" migrate >/dev/null
SECRET_KEY=$KEY DATABASE_URL=$DB_URL MES_ENV=testing nice -n 19 "$BIN" seed --lots 5000 --tools 200 --days 3 >/dev/null

NGINX_PORT=$(free_port)
A_PORT=$(free_port)
B_PORT=$(free_port)
# The shared settings (deploy/mes-dashboard@.service's /etc/mes-dashboard/env), then BIND.
common=(MES_ENV=testing SECRET_KEY="$KEY" DATABASE_URL="$DB_URL" REDIS_URL="$REDIS"
  REDIS_KEY_PREFIX="$PREFIX" WORKERS=1 LOCAL_AUTH_USERS="bench:bench@example.com:$HASH"
  TRUST_PROXY_HEADERS=true TRUSTED_PROXY_IPS=127.0.0.1 CACHE_CHECK_INTERVAL=1
  EQUIPMENT_STATUS_SYNC_INTERVAL=1
  LOG_FORMAT=json RUST_LOG=warn,mes_dashboard::supervisor=info)
start_instance() { # NAME PORT: a supervisor in a process group of its own; prints its pid
  mkdir -p "$WORK/$1"
  env "${common[@]}" BIND="127.0.0.1:$2" DATA_DIR="$WORK/$1" WATCHDOG_RUNTIME_DIR="$WORK/$1/runtime" \
    setsid nice -n 19 "$BIN" serve >"$WORK/$1.log" 2>&1 &
  echo $!
}
A=$(start_instance a "$A_PORT"); pids+=("$A")
B=$(start_instance b "$B_PORT"); pids+=("$B")
wait_http "http://127.0.0.1:$A_PORT/health/live"
wait_http "http://127.0.0.1:$B_PORT/health/live"

mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
chmod 777 "$WORK/nginx/tmp"
sed -e "s/127.0.0.1:8081/127.0.0.1:$A_PORT/" -e "s/127.0.0.1:8082/127.0.0.1:$B_PORT/" \
  -e '/^server {/,$d' deploy/nginx-two-instances.conf.example >"$WORK/nginx/upstream.conf"
cat >"$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  include $WORK/nginx/upstream.conf;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host \$host:\$server_port;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_next_upstream error timeout http_502 http_503 http_504;
    proxy_next_upstream_tries 2;
    proxy_connect_timeout 2s;
    location / { proxy_pass http://mes_dashboard; proxy_read_timeout 75s; }
  }
}
NGINX
nginx -p "$WORK/nginx" -c nginx.conf
NGX="http://127.0.0.1:$NGINX_PORT"
wait_http "$NGX/health/live"

echo "# two instances (1 worker each) on PostgreSQL + Redis behind nginx; $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"

# 1. A login on A works on B.
JAR="$WORK/jar"
login "http://127.0.0.1:$A_PORT" bench bench-password "$JAR"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$JAR" "http://127.0.0.1:$B_PORT/api/auth/me")
echo "1. logged in on A; GET /api/auth/me on B: $code (want 200)"
[[ $code == 200 ]]

# 2. One database load per WIP change across both instances.
loads() { curl -s "http://127.0.0.1:$1/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["cache"]["db_loads"])'; }
version() { curl -s -b "$JAR" "http://127.0.0.1:$1/api/wip/overview/summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["updated_at"])'; }
before=$(( $(loads "$A_PORT") + $(loads "$B_PORT") ))
va=$(version "$A_PORT"); vb=$(version "$B_PORT")
# A browser on each instance: its page event stream (the current version comes at connect).
curl -sN -b "$JAR" "http://127.0.0.1:$A_PORT/api/events" >"$WORK/events_a" &
pids+=($!)
curl -sN -b "$JAR" "http://127.0.0.1:$B_PORT/api/events" >"$WORK/events_b" &
pids+=($!)
wip_events() { grep -c '^event: wip' "$1" || true; }
for _ in $(seq 100); do
  [[ $(wip_events "$WORK/events_a") -ge 1 && $(wip_events "$WORK/events_b") -ge 1 ]] && break
  sleep 0.1
done
psql -q "$DB_URL" -c "DELETE FROM lots WHERE lot_id = (SELECT min(lot_id) FROM lots)"
for _ in $(seq 100); do
  [[ $(version "$A_PORT") != "$va" && $(version "$B_PORT") != "$vb" ]] && break
  sleep 0.2
done
for _ in $(seq 100); do
  [[ $(wip_events "$WORK/events_a") -ge 2 && $(wip_events "$WORK/events_b") -ge 2 ]] && break
  sleep 0.1
done
after=$(( $(loads "$A_PORT") + $(loads "$B_PORT") ))
echo "2. one lot deleted: both instances serve the new data; database loads across both: $((after - before)) (want 1)"
echo "   wip events on the stream open on A: $(wip_events "$WORK/events_a"), on B: $(wip_events "$WORK/events_b") (want 2 each: at connect, then the change)"
[[ $((after - before)) == 1 && $(wip_events "$WORK/events_a") -ge 2 && $(wip_events "$WORK/events_b") -ge 2 ]]

# The equipment sync: one database read per interval across both instances (the leader).
metric() { # PORT NAME: the instance's total of a counter (a direct loopback scrape)
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || $1 == n "{worker=\"all\"}" {print $2}'
}
reads() { echo $(( $(metric "$A_PORT" mes_equipment_db_reads_total) + $(metric "$B_PORT" mes_equipment_db_reads_total) )); }
r0=$(reads); sleep 10; r1=$(reads)
echo "   equipment status reads from the database across both in 10 s at a 1 s interval: $((r1 - r0)) (want about 10, not 20)"
[[ $((r1 - r0)) -le 14 ]]

# 3. Rolling reload under load through nginx.
COOKIE=$(awk '$6 == "mes_session" {print "mes_session=" $7}' "$JAR")
wrk_run() { # LABEL: load through nginx for DURATION seconds, then the failure counts
  local out requests non2xx errors
  out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -H "Cookie: $COOKIE" "$NGX/api/wip/overview/summary")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $5}' <<<"$out")
  errors=$(awk -F'[ ,]+' '/Socket errors/ {print $4+$6+$8+$10}' <<<"$out")
  printf '   %-28s %s requests, non-2xx %s, socket errors %s\n' "$1" "$requests" "${non2xx:-0}" "${errors:-0}"
  FAILED=$(( ${non2xx:-0} + ${errors:-0} ))
}
reloads() { grep -c 'reload complete' "$WORK/$1.log" || true; }
until_reloaded() { # NAME: waits (bounded) until NAME's supervisor logged one more complete reload
  local want=$(( $(reloads "$1") + 1 )) i
  kill -HUP "${2}"
  for ((i = 0; i < 600; i++)); do
    [[ $(reloads "$1") -ge $want ]] && { echo "   $1 reloaded after $((i / 10)).$((i % 10)) s"; return 0; }
    sleep 0.1
  done
  echo "   $1 did not complete its reload in 60 s" >&2
}
(
  sleep 2
  until_reloaded a "$A"
  until_reloaded b "$B"
) >"$WORK/reloads" &
RELOADS=$!
wrk_run "3. rolling reload (HUP A, B)"
wait "$RELOADS"
cat "$WORK/reloads"
[[ $FAILED == 0 && $(reloads a) -ge 1 && $(reloads b) -ge 1 ]]

# 4. Instance B killed under load.
(
  sleep "$((DURATION / 3))"
  kill -KILL -- "-$B"
) &
KILLER=$!
wrk_run "4. B killed (SIGKILL)"
wait "$KILLER"
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$JAR" "$NGX/api/auth/me")
echo "   after: GET /api/auth/me through nginx: $code (A alone serves)"
[[ $code == 200 ]]
echo "two instances: every check passed"
