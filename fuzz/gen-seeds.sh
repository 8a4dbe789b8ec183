#!/usr/bin/env bash
# Regenerates the committed seed corpora under fuzz/seeds/ and fuzz/data/core_read.bpf.o from the
# built test fixtures (`cargo build -p oxbpf-tests` first) and a tiny C program. Small files only.
set -euo pipefail
cd "$(dirname "$0")"
root=..
bpf=${FIXTURES:-$(ls -td "$root"/target/debug/build/oxbpf-tests-*/out/bpf 2>/dev/null | head -1)}
[ -n "$bpf" ] || { echo "build the fixtures first: cargo build -p oxbpf-tests" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The object the core_reloc target relocates, debug info stripped (.BTF and .BTF.ext stay).
llvm-objcopy --strip-debug "$bpf/core_read.libbpf.bpf.o" data/core_read.bpf.o

mkdir -p seeds/{btf_parse,btf_ext_parse,object_open,core_reloc,usdt_notes,elf_sym,btf_dump}
for f in minimal maps core_read core_poison attach_usdt obj_subprogs; do
    o="$bpf/$f.libbpf.bpf.o"
    [ -f "$o" ] || continue
    llvm-objcopy --dump-section .BTF="$tmp/$f.btf" "$o"
    cp "$tmp/$f.btf" seeds/btf_dump/$f.btf
    cp "$tmp/$f.btf" seeds/core_reloc/$f.btf
    llvm-objcopy --strip-debug "$o" seeds/object_open/$f.o
done

# USDT notes: flag byte (0 = 64-bit little-endian) then the section bytes.
python3 - seeds/usdt_notes <<'PY'
import struct, sys
out = sys.argv[1]
def note(provider, name, args, addrs):
    desc = struct.pack("<QQQ", *addrs) + b"\0".join(s.encode() for s in (provider, name, args)) + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", 8, len(desc), 3) + pad(b"stapsdt\0") + pad(desc)
x86 = note("oxbpf", "probe", "-4@-20(%rbp) 8@%rdi 4@$5 1@-96(%rbp,%rax,8) -8@%r12", (0x1130, 0x2004, 0x4010))
arm = note("oxbpf", "arm", "8@x0 -4@[sp, 96] 4@5 8@[x1]", (0x600, 0, 0))
open(f"{out}/x86.bin", "wb").write(b"\0" + x86)
open(f"{out}/two.bin", "wb").write(b"\0" + x86 + arm)
open(f"{out}/arm.bin", "wb").write(b"\0" + arm)
PY

# A small executable with functions and a hand-made .note.stapsdt, for elf_sym.
cat > "$tmp/t.c" <<'C'
int helper(int x) { return x * 3; }
int main(int argc, char **argv) { (void)argv; return helper(argc); }
C
clang-19 -O1 -fno-asynchronous-unwind-tables -o "$tmp/t" "$tmp/t.c"
tail -c +2 seeds/usdt_notes/x86.bin > "$tmp/note"
llvm-objcopy --add-section .note.stapsdt="$tmp/note" --set-section-flags .note.stapsdt=alloc,readonly \
    "$tmp/t" seeds/elf_sym/exe_usdt
llvm-strip-19 --strip-debug -o seeds/elf_sym/exe "$tmp/t"
clang-19 -O1 -shared -fPIC -o seeds/elf_sym/lib.so "$tmp/t.c"
ls -la seeds/* data
