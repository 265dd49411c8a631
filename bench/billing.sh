#!/usr/bin/env bash
# A month's billing run over N active pledges with the built-in test gateway:
# wall time, charges per second, peak memory (RSS) of the `maecenas billing
# run` process, then the time `billing verify` takes to check the ledger.
#
#   bench/billing.sh [sqlite|postgres] [pledges, default 1000000]
#
# The demo data set gives the creator and campaign; N patrons, cards and
# pledges made last month are added with one SQL statement each (bench data
# only), so all N are due this month.
# Benchmarks measure the server, not its rate limits: both off.
export MAECENAS_API_REQUESTS_PER_MINUTE=0 MAECENAS_TOKEN_REQUESTS_PER_MINUTE=0 MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT=1000000 MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
n=${2:-1000000}
bin=${BIN:-target/release/maecenas}
pg=${MAECENAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
[ -x "$bin" ] || cargo build --release -p maecenas >/dev/null
dir=$(mktemp -d)
if [ "$backend" = postgres ]; then
  schema="bench_billing_$$"
  psql "$pg" -qc "CREATE SCHEMA $schema"
  trap 'psql "$pg" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true' EXIT
  export DATABASE_URL="$pg?options=-c%20search_path%3D$schema"
  sql() { PGOPTIONS="-c search_path=$schema" psql "$pg" -qAt -c "$1"; }
  then="(now() - interval '1 month')"
  series="generate_series(1, $n) AS s(i)"
else
  export DATABASE_URL="sqlite:$dir/maecenas.db"
  sql() { sqlite3 "$dir/maecenas.db" "$1"; }
  then="strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 month')"
  series="(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n) SELECT i FROM n) AS s"
fi

"$bin" serve --listen 127.0.0.1:0 --demo --log-level warn >"$dir/demo.out" 2>"$dir/demo.err" &
pid=$!
until grep -q 'listening on' "$dir/demo.out" 2>/dev/null; do sleep 0.05; done
kill -TERM "$pid"; wait "$pid" || true
campaign=$(sql "SELECT id FROM campaigns")
base=$(sql "SELECT max(id) FROM users")
started=$(date +%s.%N)
sql "INSERT INTO users (id, email, first_name, last_name, created_at, updated_at)
     SELECT $base + i, 'bulk' || i || '@bench.test', 'Bulk', 'Patron', $then, $then FROM $series"
sql "INSERT INTO payment_methods (id, user_id, gateway, gateway_ref, brand, last4, exp_month, exp_year, is_verified, created_at)
     SELECT $base + i, $base + i, 'test', 'pm_test_ok_bulk' || i, 'visa', '4242', 12, 2034, TRUE, $then FROM $series"
sql "INSERT INTO pledges (id, patron_id, campaign_id, amount_minor, currency, patron_pays_fees, payment_method_id, created_at, updated_at)
     SELECT $base + i, $base + i, $campaign, 300 + (i % 700), 'USD', (i % 3 = 0), $base + i, $then, $then FROM $series"
[ "$backend" = postgres ] && sql "ANALYZE"
echo "seeded $n due pledges in $(echo "$(date +%s.%N) - $started" | bc) s"

${PERF:-} /usr/bin/time -f '%e %M %U %S' -o "$dir/time" "$bin" billing run --json --log-level warn >"$dir/run.json"
read -r wall rss_kb user sys <"$dir/time"; echo "cpu: user ${user}s sys ${sys}s"
charged=$(sed -n 's/.*"charged":\([0-9]*\).*/\1/p' "$dir/run.json")
/usr/bin/time -f '%e %M' -o "$dir/vtime" "$bin" billing verify --log-level warn >"$dir/verify.out"
read -r vwall vrss_kb <"$dir/vtime"
printf '| %s | %s | %s | %.1f s | %s | %s MiB | %.1f s |\n' \
  "$backend" "$n" "$charged" "$wall" "$(echo "$charged / $wall" | bc)" "$((rss_kb / 1024))" "$vwall"
cat "$dir/verify.out"
rm -rf "$dir"
