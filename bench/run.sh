#!/usr/bin/env bash
# The benchmark harness, end to end, in one command: builds the release
# binaries, installs what it needs (wrk, sqlite3, GNU time, HAProxy from Debian;
# node-oidc-provider from npm into target/bench-npm), makes sure PostgreSQL is
# up, then runs bench/harness.py on both backends and writes the table into
# BENCHMARKS.md (and target/bench/report.md).
#
#   bench/run.sh                  # the full run (about 45 minutes on 2 cores)
#   bench/run.sh --large 100000 --small 10000 --runs 1 --billing-runs 1   # a quick look
#
# Any option is passed to bench/harness.py (`bench/harness.py --help`); the
# table is written into BENCHMARKS.md only by a full run (no options) or --write.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
command -v psql >/dev/null || missing+=(postgresql-client)
[ -x /usr/bin/time ] || missing+=(time)
command -v node >/dev/null || missing+=(nodejs npm)
command -v haproxy >/dev/null || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ -f target/bench-npm/node_modules/oidc-provider/package.json ] ||
  npm install --prefix target/bench-npm --no-audit --no-fund --silent oidc-provider@9.13.3

pg=${MAECENAS_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  until pg_isready -h 127.0.0.1 -p 5432 -q; do sleep 0.5; done
fi

cargo build --release --locked -p maecenas --bins --examples

if [ $# -eq 0 ]; then
  exec python3 bench/harness.py --write
fi
exec python3 bench/harness.py "$@"
