#!/usr/bin/env bash
# Runs oxbpf's kernel tests (the oxbpf-tests binaries and the examples' tests, where fentry and kprobe
# must attach and report events) inside QEMU VMs on Debian's 6.1 kernel and the
# newest one (7.2), and prints per kernel "N passed, N failed, N skipped" plus the tests whose outcome
# differs. Kernels, QEMU and busybox come from Debian packages through apt (cached in target/vmtest/,
# nothing installed). Exit status is non-zero when a test failed or a VM did not finish.
# Extra arguments go to `cargo xtask vmtest` (e.g. --test parity, -v).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
    echo "vmtest-ci: run as root (the guest reads the host's / and the tests load BPF programs)" >&2
    exit 1
fi
./scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
start=$(date +%s)
# The two kernels boot side by side (one vCPU each, so both host cores work). One VM run may take
# at most 15 minutes and one test binary 5 (TCG is 4-6x slower than the host for verifier-heavy
# loads), so a hung emulation cannot stall CI.
# `headers` (clang compiling every header) and `core_mutations` (CO-RE against thousands of mutated
# BTFs) exercise the compiler and pure code, not the kernel; under emulation each exceeds 5 minutes,
# and the host's test run covers them.
status=0
cargo xtask vmtest --kernel 6.1,7.2 --jobs 2 --timeout 900 --test-timeout 300 -p oxbpf-tests -p examples \
    --exclude headers --exclude core_mutations "$@" || status=$?
echo "vmtest-ci: finished in $(($(date +%s) - start)) s with status $status"
exit $status
