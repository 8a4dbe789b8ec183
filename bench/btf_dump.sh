#!/usr/bin/env bash
# Times `oxbpf btf dump file BTF format c` against `bpftool btf dump file BTF format c` (issue 4's goal:
# at most 0.5x bpftool's wall time, no more peak memory), plus oxbpf's parse + index of the same BTF.
#
# usage: bench/btf_dump.sh [BTF file] [runs]     (default: /sys/kernel/btf/vmlinux, 11 runs)
# Needs bpftool (apt-get install bpftool) and builds oxbpf in release mode.
set -euo pipefail

btf=${1:-/sys/kernel/btf/vmlinux}
runs=${2:-11}
root=$(cd "$(dirname "$0")/.." && pwd)

command -v bpftool >/dev/null || { echo "bpftool not found (apt-get install bpftool)" >&2; exit 1; }
cargo build --quiet --release -p oxbpf-cli --manifest-path "$root/Cargo.toml"
oxbpf="$root/target/release/oxbpf"

# Copy the input once so both tools read a regular file from the page cache.
input=$(mktemp)
cp "$btf" "$input"

# One line per run: wall seconds, CPU seconds (user+sys) and peak RSS (KiB), from /usr/bin/time
# (getrusage of the child). The two tools alternate run by run so a busy machine hurts both alike.
run_once() {
    { /usr/bin/time -f "%e %U %S %M" "$@" >/dev/null; } 2>&1 | tail -1 |
        awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }'
}

# median of column $1 of stdin
median() {
    sort -g -k"$1","$1" | awk -v c="$1" '{ v[NR] = $c } END {
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bruns=$(mktemp)
oruns=$(mktemp)
trap 'rm -f "$input" "$bruns" "$oruns"' EXIT
for _ in $(seq "$runs"); do
    run_once bpftool btf dump file "$input" format c >>"$bruns"
    run_once "$oxbpf" btf dump file "$input" format c >>"$oruns"
done
bt=$(median 1 <"$bruns"); bc=$(median 2 <"$bruns"); brss=$(median 3 <"$bruns")
ot=$(median 1 <"$oruns"); oc=$(median 2 <"$oruns"); orss=$(median 3 <"$oruns")

printf '%-28s %10s %10s %12s   (medians of %s runs)\n' "btf dump format c" "wall" "cpu" "peak RSS" "$runs"
printf '%-28s %9ss %9ss %9s KiB\n' "bpftool" "$bt" "$bc" "$brss"
printf '%-28s %9ss %9ss %9s KiB\n' "oxbpf" "$ot" "$oc" "$orss"
awk -v a="$ot" -v b="$bt" -v c="$oc" -v d="$bc" -v e="$orss" -v f="$brss" \
    'BEGIN { printf "ratio oxbpf/bpftool: wall %.2fx, cpu %s, peak RSS %.2fx (goal: <= 0.50x time, <= 1.00x memory)\n",
             a / b, (d > 0 ? sprintf("%.2fx", c / d) : "n/a"), e / f }'

# parse + name index (library, release), medians of 7, from the unit test's own timing
cargo test --quiet --release -p oxbpf --lib --manifest-path "$root/Cargo.toml" \
    btf::parse::tests::vmlinux_parses_indexes_and_round_trips -- --nocapture 2>/dev/null | grep '^vmlinux:' || true
