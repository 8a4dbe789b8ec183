#!/usr/bin/env bash
# Builds every cargo-fuzz target of fuzz/ and runs each for a bounded time over its committed seed
# corpus (fuzz/seeds/<target>/). A crash, timeout or out-of-memory fails the script and leaves the
# reproducer in fuzz/artifacts/<target>/.
#
#   scripts/fuzz-ci.sh            # FUZZ_SECONDS=20 per target
#   FUZZ_SECONDS=600 scripts/fuzz-ci.sh btf_dump core_reloc
#
# cargo-fuzz needs nightly features; on the stable toolchain RUSTC_BOOTSTRAP=1 enables them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1
secs=${FUZZ_SECONDS:-20}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building"
cargo fuzz build -O

for t in "${targets[@]}"; do
    echo "== fuzzing $t for ${secs}s"
    mkdir -p "corpus/$t"
    # Fresh corpus dir first (new inputs are written there), seeds read-only after it.
    log="corpus/$t.log"
    rc=0
    cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -print_final_stats=1 >"$log" 2>&1 || rc=$?
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    if [ "$rc" -ne 0 ]; then
        tail -40 "$log"
        echo "fuzz target $t failed (exit $rc): reproducer in fuzz/artifacts/$t/"
        exit 1
    fi
done
echo "== fuzzing OK: ${#targets[@]} targets, ${secs}s each"
