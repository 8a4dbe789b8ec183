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
