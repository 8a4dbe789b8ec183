#!/usr/bin/env bash
# Sets up the machine, then shows oxbpf at work: builds the BPF fixtures and runs
# `oxbpf object check` on them (open, load, per-program verdict and kernel tag).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --quiet --release -p oxbpf-cli -p oxbpf-tests
out=$(ls -td target/release/build/oxbpf-tests-*/out 2>/dev/null | head -n1)
set=libbpf
ls "$out"/bpf/*.oxbpf.bpf.o >/dev/null 2>&1 && set=oxbpf
exec target/release/oxbpf object check "$out"/bpf/minimal."$set".bpf.o "$out"/bpf/maps."$set".bpf.o
