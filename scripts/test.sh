#!/usr/bin/env bash
# Sets up the machine, then runs every check and test of oxbpf: formatting, clippy, docs, the unit
# tests and the kernel tests (as root they load, attach and run real BPF programs).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

echo "== rustfmt"
cargo fmt --all --check
echo "== clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== rustdoc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
echo "== tests"
cargo test --workspace --no-fail-fast 2>&1 | tee target/test-output.txt
# The same kernel tests on other kernels: Debian's 6.1 and the newest Debian kernel, booted under
# QEMU (scripts/vmtest-ci.sh; OXBPF_VMTEST=0 leaves it out for a quick local run).
if [ "${OXBPF_VMTEST:-1}" != 0 ]; then
    echo "== kernel matrix (QEMU)"
    ./scripts/vmtest-ci.sh
fi
# Every cargo-fuzz target, briefly, over its committed seeds (scripts/fuzz-ci.sh; a crash fails the run
# and leaves its reproducer in fuzz/artifacts/). OXBPF_FUZZ=0 leaves it out.
if [ "${OXBPF_FUZZ:-1}" != 0 ]; then
    echo "== fuzzing (${FUZZ_SECONDS:=10} s per target)"
    FUZZ_SECONDS=$FUZZ_SECONDS ./scripts/fuzz-ci.sh
fi
