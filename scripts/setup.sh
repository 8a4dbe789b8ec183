#!/usr/bin/env bash
# Makes a Debian 12 machine ready to build and test oxbpf: packages, BPF filesystems.
# Idempotent, quiet when everything is already there, needs no stdin. Run as root.
set -euo pipefail

# xdp-tools and xdp-tests ship clang-built BPF objects: third-party input for the tag-parity tests.
need_pkgs=(clang-19 llvm-19 libelf-dev zlib1g-dev pkg-config bpftool iproute2 systemtap-sdt-dev make gcc
    xdp-tools xdp-tests)

missing=()
for p in "${need_pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing packages ${missing[*]}; run this script as root" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust (rustup) first" >&2; exit 1; }

# BPF filesystems: bpffs for pinning, tracefs for tracepoints/uprobes, debugfs for older tools.
mounted() { grep -qs " $1 " /proc/mounts; }
if [ "$(id -u)" = 0 ]; then
    mounted /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || echo "setup: could not mount bpffs" >&2
    mounted /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
    mounted /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null ||
        echo "setup: could not mount tracefs" >&2
    # Locked memory: kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
    ulimit -l unlimited 2>/dev/null || true
fi
exit 0
