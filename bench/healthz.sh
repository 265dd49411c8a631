#!/usr/bin/env bash
# The ceiling: requests per second and latency of the plain `GET /healthz`
# (no database) and `GET /readyz` (one `SELECT 1`) of a release server, with wrk.
#
#   bench/healthz.sh [sqlite|postgres] [seconds]
# Benchmarks measure the server, not its rate limits: both off.
export MAECENAS_API_REQUESTS_PER_MINUTE=0 MAECENAS_TOKEN_REQUESTS_PER_MINUTE=0 MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT=1000000 MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
seconds=${2:-10}
bin=${BIN:-target/release/maecenas}
pg=${MAECENAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
[ -x "$bin" ] || cargo build --release -p maecenas >/dev/null
dir=$(mktemp -d)
if [ "$backend" = postgres ]; then
  schema="bench_healthz_$$"
  psql "$pg" -qc "CREATE SCHEMA $schema"
  export DATABASE_URL="$pg?options=-c%20search_path%3D$schema"
else
  export DATABASE_URL="sqlite:$dir/maecenas.db"
fi
"$bin" serve --listen 127.0.0.1:0 --log-level warn >"$dir/out" 2>"$dir/err" &
pid=$!
until grep -q 'listening on' "$dir/out" 2>/dev/null; do sleep 0.01; done
addr=$(sed -n 's/.*listening on http:\/\///p' "$dir/out")
for path in /healthz /readyz; do
  echo "== $backend $path: wrk -t2 -c64 -d${seconds}s --latency"
  wrk -t2 -c64 -d"${seconds}s" --latency "http://$addr$path" | grep -E 'Requests/sec|Latency  |50%|99%'
done
kill -TERM "$pid"; wait "$pid" || true
[ "$backend" = postgres ] && PGOPTIONS="-c client_min_messages=warning" psql "$pg" -qc "DROP SCHEMA $schema CASCADE"
rm -rf "$dir"
