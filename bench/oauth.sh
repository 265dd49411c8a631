#!/usr/bin/env bash
# OAuth throughput of a release server, with wrk: consents (codes issued) per
# second, code exchanges per second and refreshes per second.
#
#   bench/oauth.sh [sqlite|postgres]
#
# A fresh database, one user, one client. The user logs in once; wrk then
# answers the consent form for 8 s (each answer is a code), exchanges those
# codes for 4 s (each code once, well within their 60 s), and refreshes the
# resulting refresh tokens for 3 s (each once). Every request does real work;
# if a run outlasts its supply of codes or tokens, the refused requests are
# counted and printed, and the figure is not valid.
# Benchmarks measure the server, not its rate limits: both off.
export MAECENAS_API_REQUESTS_PER_MINUTE=0 MAECENAS_TOKEN_REQUESTS_PER_MINUTE=0 MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT=1000000 MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
threads=2
connections=32
bin=${BIN:-target/release/maecenas}
pg=${MAECENAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
[ -x "$bin" ] || cargo build --release -p maecenas >/dev/null
dir=$(mktemp -d)
if [ "$backend" = postgres ]; then
  schema="bench_oauth_$$"
  psql "$pg" -qc "CREATE SCHEMA $schema"
  export DATABASE_URL="$pg?options=-c%20search_path%3D$schema"
else
  export DATABASE_URL="sqlite:$dir/maecenas.db"
fi
export REDIRECT="https://bench.example/cb"
"$bin" admin user create --email bench@example.org --password bench-password --json >/dev/null
client=$("$bin" admin client create --owner bench@example.org --name bench --redirect-uri "$REDIRECT" --json)
export CLIENT_ID=$(echo "$client" | sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p')
export CLIENT_SECRET=$(echo "$client" | sed -n 's/.*"client_secret":"\([^"]*\)".*/\1/p')
"$bin" serve --listen 127.0.0.1:0 --log-level warn >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
until grep -q 'listening on' "$dir/out" 2>/dev/null; do sleep 0.01; done
base="http://$(sed -n 's/.*listening on http:\/\///p' "$dir/out")"

# Log in once, as a browser would.
login_csrf=$(curl -s -c "$dir/jar" "$base/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p')
curl -s -b "$dir/jar" -c "$dir/jar" -o /dev/null --data-urlencode "email=bench@example.org" \
  --data-urlencode "password=bench-password" --data-urlencode "csrf=$login_csrf" "$base/login"
export SESSION=$(awk '$6 == "maecenas_session" {print $7}' "$dir/jar")
export CSRF=$(printf 'csrf:%s' "$SESSION" | sha256sum | cut -c1-32)

run() { # label script seconds
  echo "== $backend: $1 (wrk -t$threads -c$connections -d$3s)"
  wrk -t$threads -c$connections -d"$3s" --latency -s "bench/lua/$2" "$base" 2>"$dir/$2.err" \
    | grep -E 'requests in|Requests/sec|Non-2xx|50%|99%' || true
  [ -s "$dir/$2.err" ] && echo "   ($(wc -l <"$dir/$2.err") error answers, first: $(head -c 200 "$dir/$2.err"))" || true
}
OUT="$dir/codes" run "consent answered, code issued" consent.lua 8
CODES="$dir/codes" OUT="$dir/refresh" run "code exchanged for tokens" exchange.lua 4
TOKENS="$dir/refresh" run "refresh token rotated" refresh.lua 3
kill -TERM "$pid"; wait "$pid" || true
trap - EXIT
[ "$backend" = postgres ] && PGOPTIONS="-c client_min_messages=warning" psql "$pg" -qc "DROP SCHEMA $schema CASCADE"
rm -rf "$dir"
