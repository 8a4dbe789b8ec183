#!/usr/bin/env bash
# Times `oxbpf btf dump file BTF format c` against `bpftool btf dump file BTF format c` (issue 4's goal:
# at most 0.5x bpftool's wall time, no more peak memory), plus oxbpf's parse + index of the same BTF.
#
# usage: bench/btf_dump.sh [BTF file] [runs]     (default: /sys/kernel/btf/vmlinux, 20 runs)
# Needs bpftool (apt-get install bpftool) and builds oxbpf in release mode.
set -euo pipefail

btf=${1:-/sys/kernel/btf/vmlinux}
runs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)

command -v bpftool >/dev/null || { echo "bpftool not found (apt-get install bpftool)" >&2; exit 1; }
cargo build --quiet --release -p oxbpf-cli --manifest-path "$root/Cargo.toml"
oxbpf="$root/target/release/oxbpf"

# Copy the input once so both tools read a regular file from the page cache.
input=$(mktemp)
trap 'rm -f "$input"' EXIT
cp "$btf" "$input"

# best-of-N wall time (seconds) and the largest peak RSS (KiB) over the runs
measure() {
    local best=999 rss=0 t m
    for _ in $(seq "$runs"); do
        read -r t m < <( { /usr/bin/time -f "%e %M" "$@" >/dev/null; } 2>&1 | tail -1)
        best=$(awk -v a="$best" -v b="$t" 'BEGIN { print (b < a) ? b : a }')
        rss=$(( m > rss ? m : rss ))
    done
    echo "$best $rss"
}

# CPU time (user+sys, seconds) summed over the runs, less sensitive to a busy machine than wall time
cpu() {
    local st start end
    # `read` from the file runs in this shell, so $BASHPID is the process whose children we time.
    read -r -a st < "/proc/$BASHPID/stat"
    start=$(( st[13] + st[14] + st[15] + st[16] ))
    for _ in $(seq "$runs"); do "$@" >/dev/null; done
    read -r -a st < "/proc/$BASHPID/stat"
    end=$(( st[13] + st[14] + st[15] + st[16] ))
    awk -v s="$start" -v e="$end" -v hz="$(getconf CLK_TCK)" -v n="$runs" 'BEGIN { printf "%.4f", (e - s) / hz / n }'
}

read -r bt brss < <(measure bpftool btf dump file "$input" format c)
read -r ot orss < <(measure "$oxbpf" btf dump file "$input" format c)
bc=$(cpu bpftool btf dump file "$input" format c)
oc=$(cpu "$oxbpf" btf dump file "$input" format c)

printf '%-28s %10s %10s %12s\n' "btf dump format c" "wall(best)" "cpu(mean)" "peak RSS"
printf '%-28s %9ss %9ss %9s KiB\n' "bpftool" "$bt" "$bc" "$brss"
printf '%-28s %9ss %9ss %9s KiB\n' "oxbpf" "$ot" "$oc" "$orss"
awk -v a="$ot" -v b="$bt" -v c="$oc" -v d="$bc" -v e="$orss" -v f="$brss" \
    'BEGIN { printf "ratio oxbpf/bpftool: wall %.2fx, cpu %.2fx, peak RSS %.2fx (goal: <= 0.50x time, <= 1.00x memory)\n", a / b, c / d, e / f }'

# parse + name index (library, release), best of 5, from the unit test's own timing
cargo test --quiet --release -p oxbpf --lib --manifest-path "$root/Cargo.toml" \
    btf::parse::tests::vmlinux_parses_indexes_and_round_trips -- --nocapture 2>/dev/null | grep '^vmlinux:' || true
