//! Positioned reads into fresh memory.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Appends the `len` bytes at offset `off` of `file` to `buf`, reading them straight into its
/// spare capacity (no zero-filling first); fails with `UnexpectedEof` when the file is shorter,
/// `OutOfMemory` when `len` more bytes cannot be allocated.
pub fn pread_append(file: &File, off: u64, len: usize, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.try_reserve(len)
        .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "read larger than memory"))?;
    let mut done = 0;
    while done < len {
        let at = off
            .checked_add(done as u64)
            .and_then(|o| libc::off_t::try_from(o).ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "offset out of range"))?;
        let spare = &mut buf.spare_capacity_mut()[..len - done];
        // SAFETY: `spare` is writable memory of `spare.len()` bytes owned by `buf`; pread writes at
        // most that many bytes into it and does not keep the pointer.
        let n =
            unsafe { libc::pread(file.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len(), at) };
        match n {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n if n < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            n => {
                let n = n as usize;
                // SAFETY: pread initialised the first `n` bytes of the spare capacity, which
                // follow the `buf.len()` initialised bytes.
                unsafe { buf.set_len(buf.len() + n) };
                done += n;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn appends_a_range_and_reports_short_files() {
        let f = tempfile_with(b"0123456789");
        let mut buf = b"ab".to_vec();
        pread_append(&f, 3, 4, &mut buf).unwrap();
        assert_eq!(buf, b"ab3456");
        let err = pread_append(&f, 8, 4, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    fn tempfile_with(data: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        f
    }
}
