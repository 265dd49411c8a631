#!/usr/bin/env bash
# Start-up of `maecenas serve` on an empty database, and its idle memory.
#
#   bench/startup.sh [sqlite|postgres] [runs]
#
# Each run: a fresh empty database (a new SQLite file, or a new PostgreSQL
# schema in MAECENAS_TEST_DATABASE_URL), then the time from exec until the
# first `GET /healthz` answers 200 (this includes creating the file, applying
# migrations and binding the port), then resident memory after 2 s idle.
# Benchmarks measure the server, not its rate limits: both off.
export MAECENAS_API_REQUESTS_PER_MINUTE=0 MAECENAS_TOKEN_REQUESTS_PER_MINUTE=0 MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT=1000000 MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
runs=${2:-20}
bin=${BIN:-target/release/maecenas}
pg=${MAECENAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
[ -x "$bin" ] || cargo build --release -p maecenas >/dev/null

times=()
rss=()
for i in $(seq "$runs"); do
  dir=$(mktemp -d)
  schema=""
  if [ "$backend" = postgres ]; then
    schema="bench_startup_$$_$i"
    psql "$pg" -qc "CREATE SCHEMA $schema"
    export DATABASE_URL="$pg?options=-c%20search_path%3D$schema"
  else
    export DATABASE_URL="sqlite:$dir/data/maecenas.db"
  fi
  start=$(date +%s%N)
  "$bin" serve --listen 127.0.0.1:0 --log-level warn >"$dir/out" 2>"$dir/err" &
  pid=$!
  until grep -q 'listening on' "$dir/out" 2>/dev/null; do sleep 0.0005; done
  addr=$(sed -n 's/.*listening on http:\/\///p' "$dir/out")
  until curl -sf "http://$addr/healthz" >/dev/null; do sleep 0.0005; done
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000 )))
  sleep 2
  rss+=($(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))
  kill -TERM "$pid"
  wait "$pid" || true
  [ -n "$schema" ] && PGOPTIONS="-c client_min_messages=warning" psql "$pg" -qc "DROP SCHEMA $schema CASCADE"
  rm -rf "$dir"
done
unset DATABASE_URL

summary() { sort -n | awk '{a[NR]=$1} END {printf "min %s  median %s  max %s", a[1], a[int((NR+1)/2)], a[NR]}'; }
echo "backend: $backend, runs: $runs, binary: $bin"
echo "start-up to first /healthz 200 (microseconds): $(printf '%s\n' "${times[@]}" | summary)"
echo "resident memory after 2 s idle (KiB):          $(printf '%s\n' "${rss[@]}" | summary)"
