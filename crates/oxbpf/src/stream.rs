//! What the stream readers (ring buffer, perf buffer, user ring buffer) share: the publish
//! interval, the sample callback's result, the load-hiding and prefetch primitives their fast
//! paths use, and the map facts they check when opened.

#![allow(unsafe_code)]

use std::ops::ControlFlow;
use std::os::fd::BorrowedFd;

use crate::error::Result;

/// The consumer publishes its position at least every this many bytes (or a quarter of the ring,
/// if smaller), so a slow callback does not keep the whole batch's space from the producer.
pub const PUBLISH_EVERY: usize = 64 * 1024;

/// `v`, in a form the optimiser cannot relate to anything else it knows (no instruction emitted).
///
/// The reader steps over a record by the size it *predicted*, once a compare has shown that the
/// prediction holds; hidden this way, the compiler cannot substitute the loaded size back in, which
/// would chain every header load to the previous one again (see `RingReader::consume_with`).
#[inline(always)]
pub(crate) fn opaque(mut v: usize) -> usize {
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    // SAFETY: an empty asm block that only claims to modify a register it is given: no memory, no
    // stack, no flags-visible effect.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) v, options(pure, nomem, nostack, preserves_flags))
    };
    v
}

/// Line hints go only to runs of records that start more than this far behind the producer
/// position the reader last loaded (both readers; see [`far_behind`]). Records written more
/// recently are most likely still in the producer core's own caches, and each extra line fetched
/// from there costs both cores. Measured with the `streams` bench, 128-byte samples, the rule
/// applied per record (a run is at most [`PUBLISH_EVERY`] bytes, well inside the lags that
/// measured alike):
/// - stream scenario (the consumer a few bursts behind): hinting every record gave 0.79-1.02x
///   libbpf's throughput and 0.95-1.06x its CPU per record (11 runs); no hints 0.89-1.16x and
///   0.85-0.96x (17 runs); this rule 0.90-1.06x and 0.89-0.98x (6 runs), so it behaves like no
///   hints there and like hints everywhere in a 16 MiB drain;
/// - drains of 1 MiB rings, where this rule hints nothing: the ring buffer drained 5% faster
///   than with every record hinted (medians 592 and 563 M records/s), the perf buffer 9% faster
///   (449 and 413), 6 runs each;
/// - drains of 16 MiB rings: unchanged (ring medians 295 and 290, perf 225 and 225).
///
/// 1 MiB is the L2 of the machine it was measured on; 512 KiB and 2 MiB measured alike in the
/// stream, 8 and 32 KiB still cost throughput.
pub(crate) const HINT_LAG: usize = 1 << 20;

/// Whether a run starting `pending` bytes before the producer position gets line hints.
#[inline(always)]
pub(crate) fn far_behind(pending: u64) -> bool {
    pending > HINT_LAG as u64
}

/// Asks the CPU to bring the cache line at `p` closer. Never faults, whatever `p` is.
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint that never faults and has no architectural effect, for any
    // address; SSE (which provides it) is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// What a sample callback tells the consumer: keep going, or stop after this sample.
///
/// Implemented for `()` (always continue) and [`ControlFlow<()>`].
pub trait CallbackResult {
    /// True when consumption should stop after the current sample.
    fn should_stop(self) -> bool;
}

impl CallbackResult for () {
    #[inline(always)]
    fn should_stop(self) -> bool {
        false
    }
}

impl CallbackResult for ControlFlow<()> {
    #[inline(always)]
    fn should_stop(self) -> bool {
        self.is_break()
    }
}

/// What the stream readers need to know about a map.
#[derive(Debug)]
pub(crate) struct StreamMapInfo {
    pub(crate) map_type: u32,
    pub(crate) max_entries: u32,
    pub(crate) name: String,
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a map, reduced to what the stream readers check.
pub(crate) fn stream_map_info(fd: BorrowedFd<'_>) -> Result<StreamMapInfo> {
    let info = crate::sys::bpf::map_info(fd)?;
    let end = info
        .name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(info.name.len());
    Ok(StreamMapInfo {
        map_type: info.type_,
        max_entries: info.max_entries,
        name: String::from_utf8_lossy(&info.name[..end]).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_get_hints_only_when_more_than_the_lag_behind() {
        assert!(!far_behind(0));
        assert!(!far_behind(HINT_LAG as u64));
        assert!(far_behind(HINT_LAG as u64 + 8));
    }
}
