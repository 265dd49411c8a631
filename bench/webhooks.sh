#!/usr/bin/env bash
# Webhook delivery: how long `maecenas serve` takes to drain a backlog of N
# pending deliveries to a fast local receiver, and so deliveries per second;
# peak memory (RSS) of the server while it does.
#
#   bench/webhooks.sh [sqlite|postgres] [deliveries, default 100000]
#
# The demo data set gives the campaign; one webhook to the receiver and N
# events with their deliveries (a 1.6 KB pledge document each, the size of a
# real one) are added with one SQL statement each (bench data only). The
# receiver (examples/webhook_sink.rs) answers 204 and counts what it got.
# Benchmarks measure the server, not its rate limits: both off.
export MAECENAS_API_REQUESTS_PER_MINUTE=0 MAECENAS_TOKEN_REQUESTS_PER_MINUTE=0 MAECENAS_LOGIN_ATTEMPTS_PER_ACCOUNT=1000000 MAECENAS_LOGIN_ATTEMPTS_PER_ADDRESS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
n=${2:-100000}
bin=${BIN:-target/release/maecenas}
sink=target/release/examples/webhook_sink
pg=${MAECENAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
[ -x "$bin" ] || cargo build --release -p maecenas >/dev/null
[ -x "$sink" ] || cargo build --release -p maecenas --example webhook_sink >/dev/null
dir=$(mktemp -d)
cleanup() { kill "${sink_pid:-}" "${server_pid:-}" 2>/dev/null || true; }
if [ "$backend" = postgres ]; then
  schema="bench_webhooks_$$"
  psql "$pg" -qc "CREATE SCHEMA $schema"
  trap 'cleanup; psql "$pg" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true' EXIT
  export DATABASE_URL="$pg?options=-c%20search_path%3D$schema"
  sql() { PGOPTIONS="-c search_path=$schema" psql "$pg" -qAt -c "$1"; }
  now="now()"; later="now() + interval '3 days'"
  series="generate_series(1, $n) AS s(i)"
else
  trap cleanup EXIT
  export DATABASE_URL="sqlite:$dir/maecenas.db"
  sql() { sqlite3 "$dir/maecenas.db" "$1"; }
  now="strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 minute')"
  later="strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+3 days')"
  series="(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n) SELECT i FROM n) AS s"
fi

"$bin" serve --listen 127.0.0.1:0 --demo --log-level warn >"$dir/demo.out" 2>"$dir/demo.err" &
server_pid=$!
until grep -q 'listening on' "$dir/demo.out" 2>/dev/null; do sleep 0.05; done
kill -TERM "$server_pid"; wait "$server_pid" || true

"$sink" 127.0.0.1:0 >"$dir/sink.out" &
sink_pid=$!
until grep -q 'sink listening on' "$dir/sink.out" 2>/dev/null; do sleep 0.05; done
sink_addr=$(sed -n 's/sink listening on //p' "$dir/sink.out")

campaign=$(sql "SELECT id FROM campaigns")
pledge=$(sql "SELECT max(id) FROM pledges")
body=$(printf '{"data":{"type":"pledge","id":"%s","attributes":{"amount_cents":500,"created_at":"2026-11-01T00:00:00Z","declined_since":null,"patron_pays_fees":false,"pledge_cap_cents":null}},"included":[%s]}' \
  "$pledge" "$(for i in $(seq 1 12); do printf '{"type":"user","id":"%s","attributes":{"first_name":"Bench","last_name":"Patron","vanity":null,"about":"benchmark filler text"}},' "$i"; done)"'{"type":"campaign","id":"1"}')
sql "INSERT INTO webhooks (id, campaign_id, uri, triggers, secret, paused, num_consecutive_times_failed, created_at, updated_at)
     VALUES (1, $campaign, 'http://$sink_addr/hook', 'pledges:create', 'whsec_YmVuY2htYXJrYmVuY2htYXJrYmVuY2htYXJr', FALSE, 0, $now, $now)"
sql "INSERT INTO webhook_events (id, campaign_id, trigger, pledge_id, is_test, body, created_at)
     SELECT i, $campaign, 'pledges:create', $pledge, FALSE, '$body', $now FROM $series"
sql "INSERT INTO webhook_deliveries (id, webhook_id, event_id, status, attempts, next_attempt_at, give_up_at, created_at)
     SELECT i, 1, i, 'pending', 0, $now, $later, $now FROM $series"
[ "$backend" = postgres ] && sql "ANALYZE"
echo "seeded $n pending deliveries of $(printf %s "$body" | wc -c) bytes each"

started=$(date +%s.%N)
MAECENAS_WEBHOOK_ALLOW_NETS=127.0.0.1/32 "$bin" serve --listen 127.0.0.1:0 --billing-interval 0 --log-level "${SERVE_LOG:-warn}" >"$dir/serve.out" 2>"$dir/serve.err" &
server_pid=$!
while [ "$(sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")" != 0 ]; do sleep 0.25; done
drained=$(date +%s.%N)
hwm_kb=$(sed -n 's/VmHWM:\s*\([0-9]*\).*/\1/p' "/proc/$server_pid/status")
cpu_ticks=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
kill -TERM "$server_pid"; wait "$server_pid" || true
kill -TERM "$sink_pid"; wait "$sink_pid" || true
wall=$(echo "$drained - $started" | bc)
delivered=$(sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
attempts=$(sql "SELECT count(*) FROM webhook_attempts")
printf '| %s | %s | %s | %.1f s | %s | %s MiB | %.1f s |\n' \
  "$backend" "$n" "$delivered" "$wall" "$(echo "$delivered / $wall" | bc)" "$((hwm_kb / 1024))" \
  "$(echo "$cpu_ticks / $(getconf CLK_TCK)" | bc -l)"
echo "attempts recorded: $attempts; receiver: $(tail -n 1 "$dir/sink.out")"
rm -rf "$dir"
