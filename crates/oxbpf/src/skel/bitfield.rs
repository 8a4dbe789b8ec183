//! Reading and writing C bitfields inside the bytes of a generated struct.
//!
//! BTF gives a bitfield as a bit offset from the start of its struct and a width. How those bits map
//! onto bytes depends on the object's byte order: little endian numbers bits from the least
//! significant bit of the first byte, big endian from the most significant one (the numbering clang
//! uses, and the one libbpf's CO-RE bitfield reads assume). The generator knows the object's byte order
//! and passes it here, so accessors are correct for the bytes as the BPF program stored them.
//!
//! Widths up to 64 bits are supported (a field then spans at most 9 bytes); bits outside `bytes`
//! read as zero and are not written, so a malformed offset cannot panic.

/// The byte order the bitfield was laid out in (the BPF object's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `bpfel` objects.
    Little,
    /// `bpfeb` objects.
    Big,
}

/// The bytes covering the field (first index, count) and the right shift that brings its lowest bit
/// to bit 0 of the value those bytes form in `order`.
fn span(bit_offset: u32, width: u32, order: Order) -> (usize, usize, u32) {
    let first = (bit_offset / 8) as usize;
    let rel = bit_offset % 8;
    let count = (rel + width).div_ceil(8) as usize;
    let shift = match order {
        Order::Little => rel,
        Order::Big => (count as u32 * 8).saturating_sub(rel + width),
    };
    (first, count, shift)
}

fn mask(width: u32) -> u128 {
    if width >= 64 {
        u64::MAX as u128
    } else {
        (1u128 << width) - 1
    }
}

/// The `width`-bit field at `bit_offset` bits into `bytes`, zero-extended, or sign-extended to 64
/// bits when `signed` (then the result is the two's complement `u64` of the `i64` value).
pub fn get(bytes: &[u8], bit_offset: u32, width: u32, signed: bool, order: Order) -> u64 {
    let width = width.min(64);
    if width == 0 {
        return 0;
    }
    let (first, count, shift) = span(bit_offset, width, order);
    let mut acc = 0u128;
    for i in 0..count {
        let b = first
            .checked_add(i)
            .and_then(|at| bytes.get(at))
            .copied()
            .unwrap_or(0) as u128;
        acc = match order {
            Order::Little => acc | b << (8 * i),
            Order::Big => acc << 8 | b,
        };
    }
    let v = ((acc >> shift) & mask(width)) as u64;
    if signed && width < 64 && v >> (width - 1) & 1 == 1 {
        v | !(mask(width) as u64)
    } else {
        v
    }
}

/// Stores the low `width` bits of `value` as the field at `bit_offset` bits into `bytes`, leaving
/// every other bit as it was.
pub fn set(bytes: &mut [u8], bit_offset: u32, width: u32, value: u64, order: Order) {
    let width = width.min(64);
    if width == 0 {
        return;
    }
    let (first, count, shift) = span(bit_offset, width, order);
    let m = mask(width) << shift;
    let v = (value as u128 & mask(width)) << shift;
    for i in 0..count {
        let Some(b) = first.checked_add(i).and_then(|at| bytes.get_mut(at)) else {
            continue;
        };
        let pos = match order {
            Order::Little => 8 * i,
            Order::Big => 8 * (count - 1 - i),
        };
        let bm = (m >> pos) as u8;
        *b = (*b & !bm) | ((v >> pos) as u8 & bm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_endian_fields_share_a_byte() {
        // struct { u32 lo:4, hi:12; }: lo = 9, hi = 0xabc → 0xabc9 little endian.
        let b = [0xc9, 0xab, 0, 0];
        assert_eq!(get(&b, 0, 4, false, Order::Little), 9);
        assert_eq!(get(&b, 4, 12, false, Order::Little), 0xabc);
        let mut w = [0u8; 4];
        set(&mut w, 0, 4, 9, Order::Little);
        set(&mut w, 4, 12, 0xabc, Order::Little);
        assert_eq!(w, b);
    }

    #[test]
    fn signed_fields_sign_extend() {
        let mut w = [0u8; 2];
        set(&mut w, 3, 5, (-3i64) as u64, Order::Little);
        assert_eq!(get(&w, 3, 5, true, Order::Little) as i64, -3);
        assert_eq!(get(&w, 3, 5, false, Order::Little), 0b11101);
        // Neighbouring bits untouched.
        assert_eq!(w[0] & 0b111, 0);
        set(&mut w, 3, 5, 15, Order::Little);
        assert_eq!(get(&w, 3, 5, true, Order::Little) as i64, 15);
    }

    #[test]
    fn fields_spanning_storage_units_and_64_bits() {
        // A 64-bit field starting at bit 5 spans nine bytes.
        let mut w = [0xffu8; 10];
        let v = 0x8123_4567_89ab_cdef;
        set(&mut w, 5, 64, v, Order::Little);
        assert_eq!(get(&w, 5, 64, false, Order::Little), v);
        assert_eq!(get(&w, 5, 64, true, Order::Little), v);
        assert_eq!(w[0] & 0x1f, 0x1f, "low bits kept");
        assert_eq!(w[9], 0xff, "byte after the field kept");
        // Crossing a u32 boundary: bits 28..36.
        let mut w = [0u8; 8];
        set(&mut w, 28, 8, 0xa5, Order::Little);
        assert_eq!(w, [0, 0, 0, 0x50, 0x0a, 0, 0, 0]);
        assert_eq!(get(&w, 28, 8, false, Order::Little), 0xa5);
        let mut w = [0u8; 8];
        set(&mut w, 28, 8, 0xa5, Order::Big);
        assert_eq!(w, [0, 0, 0, 0x0a, 0x50, 0, 0, 0]);
        assert_eq!(get(&w, 28, 8, false, Order::Big), 0xa5);
    }

    #[test]
    fn big_endian_numbers_bits_from_the_top() {
        // struct { u16 idx:12, scale:4; } on bpfeb: the u16 holds idx << 4 | scale.
        let v: u16 = 0x123 << 4 | 0x5;
        let b = v.to_be_bytes();
        assert_eq!(get(&b, 0, 12, false, Order::Big), 0x123);
        assert_eq!(get(&b, 12, 4, false, Order::Big), 5);
        let mut w = [0u8; 2];
        set(&mut w, 0, 12, 0x123, Order::Big);
        set(&mut w, 12, 4, 5, Order::Big);
        assert_eq!(w, b);
        assert_eq!(get(&[0x80], 0, 1, true, Order::Big) as i64, -1);
    }

    #[test]
    fn out_of_range_bits_read_zero_and_are_not_written() {
        assert_eq!(get(&[0xff], 4, 12, false, Order::Little), 0xf);
        let mut w = [0u8; 1];
        set(&mut w, 4, 12, 0xfff, Order::Little);
        assert_eq!(w, [0xf0]);
        assert_eq!(get(&[], u32::MAX, 64, true, Order::Big), 0);
        set(&mut [], u32::MAX, 64, 1, Order::Big);
        assert_eq!(get(&[1], 0, 0, false, Order::Little), 0);
    }
}
