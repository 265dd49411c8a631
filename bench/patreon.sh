#!/usr/bin/env bash
# Patreon v1 resource API under load, with wrk: `current_user` with its default
# includes, and the first and the last page of pledges of a campaign with
# 100,000 pledges, beside `/healthz` of the same server as the ceiling.
#
#   bench/patreon.sh [sqlite|postgres] [seconds]
#
# The demo data set gives the creator, campaign, tiers and client; 99,700 more
# patrons and pledges are added with one SQL statement each (bench data only).
# Benchmarks measure the server, not its rate limits: both off.
export MAECENAS_API_REQUESTS_PER_MINUTE=0 MAECENAS_TOKEN_REQUESTS_PER_MINUTE=0 MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT=1000000 MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
seconds=${2:-10}
extra=99700
bin=${BIN:-target/release/maecenas}
pg=${MAECENAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
[ -x "$bin" ] || cargo build --release -p maecenas >/dev/null
dir=$(mktemp -d)
if [ "$backend" = postgres ]; then
  schema="bench_patreon_$$"
  psql "$pg" -qc "CREATE SCHEMA $schema"
  export DATABASE_URL="$pg?options=-c%20search_path%3D$schema"
  sql() { PGOPTIONS="-c search_path=$schema" psql "$pg" -qAt -c "$1"; }
  now="now()"
  series="generate_series(1, $extra) AS s(i)"
else
  export DATABASE_URL="sqlite:$dir/maecenas.db"
  sql() { sqlite3 "$dir/maecenas.db" "$1"; }
  now="strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
  series="(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $extra) SELECT i FROM n) AS s"
fi

# The demo world: start once with --demo, then stop.
"$bin" serve --listen 127.0.0.1:0 --demo --log-level warn >"$dir/demo.out" 2>"$dir/demo.err" &
pid=$!
until grep -q 'listening on' "$dir/demo.out" 2>/dev/null; do sleep 0.05; done
kill -TERM "$pid"; wait "$pid" || true
campaign=$(sql "SELECT id FROM campaigns")
user_base=$(sql "SELECT max(id) FROM users")
pledge_base=$(sql "SELECT max(id) FROM pledges")
sql "INSERT INTO users (id, email, first_name, last_name, created_at, updated_at)
     SELECT $user_base + i, 'bulk' || i || '@bench.test', 'Bulk', 'Patron', $now, $now FROM $series"
sql "INSERT INTO pledges (id, patron_id, campaign_id, amount_minor, currency, created_at, updated_at)
     SELECT $pledge_base + i, $user_base + i, $campaign, 500, 'USD', $now, $now FROM $series"
echo "pledges in the campaign: $(sql "SELECT count(*) FROM pledges WHERE campaign_id = $campaign")"
client=$("$bin" admin client list --json | sed -n 's/.*"client_id":"\([^"]*\)".*/\1/p' | head -n 1)
token=$("$bin" admin token create --client="$client" --user creator@demo.maecenas.test \
  --scope "users pledges-to-me my-campaign" --json | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
# The last page starts after the 21st pledge from the end.
after=$(sql "SELECT id FROM pledges WHERE campaign_id = $campaign ORDER BY id DESC LIMIT 1 OFFSET 20")
cursor=$(printf '%s' "$after" | base64 -w0 | tr '+/' '-_' | tr -d '=')

"$bin" serve --listen 127.0.0.1:0 --log-level warn >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true' EXIT
until grep -q 'listening on' "$dir/out" 2>/dev/null; do sleep 0.01; done
base="http://$(sed -n 's/.*listening on http:\/\///p' "$dir/out")"
last_count=$(curl -s -H "Authorization: Bearer $token" \
  "$base/api/oauth2/api/campaigns/$campaign/pledges?page%5Bcount%5D=20&page%5Bcursor%5D=$cursor" | grep -o '"type":"pledge"' | wc -l)
echo "last page holds $last_count pledges"

load() { # label path
  echo "== $backend $1: wrk -t2 -c64 -d${seconds}s"
  wrk -t2 -c64 -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$base$2" \
    | grep -E 'Requests/sec|Non-2xx|50%|99%'
}
load "healthz (ceiling)" "/healthz"
load "current_user (default includes)" "/api/oauth2/api/current_user"
load "pledges, first page" "/api/oauth2/api/campaigns/$campaign/pledges?page%5Bcount%5D=20"
load "pledges, last page" "/api/oauth2/api/campaigns/$campaign/pledges?page%5Bcount%5D=20&page%5Bcursor%5D=$cursor"
kill -TERM "$pid"; wait "$pid" || true
trap - EXIT
[ "$backend" = postgres ] && PGOPTIONS="-c client_min_messages=warning" psql "$pg" -qc "DROP SCHEMA $schema CASCADE"
rm -rf "$dir"
