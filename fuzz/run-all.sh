#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for N executions each, one after
# another, on the stable toolchain (--sanitizer none), and fails if any
# target crashes, fails an assertion, or stops before N executions.
#
#   fuzz/run-all.sh                 # every target, 1,000,000 executions each
#   RUNS=10000 fuzz/run-all.sh      # a quick pass
#   fuzz/run-all.sh scope pkce      # only these
#
# RUNS (default 1000000), MAX_TIME (seconds per target, a safety bound only,
# default 3600). Logs: fuzz/target/logs/TARGET.log. Crashes: fuzz/artifacts/TARGET/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
runs="${RUNS:-1000000}"
max_time="${MAX_TIME:-3600}"

dict_for() {
    case "$1" in
        oauth_token_params | oauth_authorize_params) echo oauth ;;
        redirect_uri | webhook_target) echo url ;;
        scope) echo scope ;;
        patreon_query) echo patreon ;;
        auth_headers) echo auth ;;
        domain_values) echo domain ;;
        *) echo "" ;;
    esac
}

if ! command -v cargo-fuzz >/dev/null; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Build once, then run the built binaries (what `cargo fuzz run` runs after
# its own build): every target tests the same snapshot of the code, and an
# edit under crates/ during the run does not trigger a rebuild per target.
cargo fuzz build --sanitizer none
bin_dir="$here/target/$(rustc -vV | sed -n 's/^host: //p')/release"
mkdir -p target/logs
failed=()
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    seeds=()
    [ -d "seeds/$target" ] && seeds=("$here/seeds/$target")
    extra=()
    dict="$(dict_for "$target")"
    [ -n "$dict" ] && extra+=("-dict=$here/dicts/$dict.dict")
    log="target/logs/$target.log"
    echo "== $target: $runs executions (log: fuzz/$log)"
    status=0
    "$bin_dir/$target" -artifact_prefix="$here/artifacts/$target/" \
        "$here/corpus/$target" "${seeds[@]}" \
        -runs="$runs" -max_total_time="$max_time" -print_final_stats=1 "${extra[@]}" \
        >"$log" 2>&1 || status=$?
    done_line="$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)"
    executed="$(grep -E '^stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}' || true)"
    executed="${executed:-0}"
    if [ "$status" -ne 0 ]; then
        echo "   CRASH (exit $status): see fuzz/$log and fuzz/artifacts/$target/"
        grep -E 'panicked at|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/   /'
        failed+=("$target")
    elif [ "$executed" -lt "$runs" ]; then
        echo "   stopped after $executed of $runs executions (MAX_TIME=$max_time)"
        failed+=("$target")
    else
        echo "   ok: $done_line"
    fi
    summary+=("$(printf '%-24s %10s  exit %s' "$target" "$executed" "$status")")
done

echo
echo "target                   executions"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all ${#targets[@]} targets ran $runs executions without a crash"
