#!/usr/bin/env bash
# Sets up the machine, then shows oxbpf at work: the `bootstrap` example (a generated skeleton, a
# ring buffer, a hash map and a .rodata setting) prints every process exec and exit on the system for
# three seconds, while this script starts a few processes so there is something to see.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --quiet --release -p examples --bin bootstrap
# A few processes to watch: one exits with code 3, one lives ~200 ms.
(
    sleep 1.5
    ls / >/dev/null
    sh -c 'exit 3' || true
    sleep 0.2
    uname -r >/dev/null
) &
cargo run --quiet --release -p examples --bin bootstrap -- --duration 3
wait
