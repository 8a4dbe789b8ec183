//! Shared memory mappings of BPF maps (`BPF_F_MMAPABLE` arrays, ring buffers, arenas), unmapped on drop.

use std::os::fd::BorrowedFd;
use std::ptr::NonNull;

use rustix::mm::{MapFlags, ProtFlags};

use crate::error::{Error, Result};

/// One `mmap(2)` region of a BPF map fd. The kernel keeps the map alive while the mapping exists.
///
/// BPF programs may write the memory at any time; treat reads as snapshots.
#[derive(Debug)]
pub struct Mmap {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
}

// SAFETY: the region is plain shared memory owned by this value; moving or sharing the handle between
// threads is no different from sharing a `Vec<u8>` (mutation requires `&mut self`).
unsafe impl Send for Mmap {}
// SAFETY: as above; `&Mmap` only hands out shared reads.
unsafe impl Sync for Mmap {}

impl Mmap {
    /// Maps `len` bytes of `fd` at page offset `offset`, shared, read-only or read-write.
    pub fn map(fd: BorrowedFd<'_>, len: usize, offset: u64, writable: bool) -> Result<Mmap> {
        if len == 0 {
            return Err(Error::invalid("mmap of zero bytes"));
        }
        let prot = if writable {
            ProtFlags::READ | ProtFlags::WRITE
        } else {
            ProtFlags::READ
        };
        // SAFETY: a fresh shared mapping at a kernel-chosen address aliases no Rust memory; we own it
        // until `Drop` unmaps exactly `len` bytes.
        let p = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                MapFlags::SHARED,
                fd,
                offset,
            )
        }
        .map_err(|e| Error::from_errno("mmap", e.raw_os_error()))?;
        let ptr =
            NonNull::new(p.cast::<u8>()).ok_or_else(|| Error::invalid("mmap returned NULL"))?;
        Ok(Mmap { ptr, len, writable })
    }

    /// The size of the mapping in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-length mapping (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The start address (for readers that need atomics on the shared memory, e.g. ring buffers).
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The mapped bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `len` readable bytes for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The mapped bytes, writable; fails on a read-only mapping.
    pub fn as_mut_slice(&mut self) -> Result<&mut [u8]> {
        if !self.writable {
            return Err(Error::invalid("mapping is read-only"));
        }
        // SAFETY: `ptr` is valid for `len` writable bytes (PROT_WRITE) and `&mut self` makes this the only
        // Rust reference to them.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) })
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the region `map` created; no reference into it outlives `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// The system page size.
pub fn page_size() -> usize {
    rustix::param::page_size()
}
