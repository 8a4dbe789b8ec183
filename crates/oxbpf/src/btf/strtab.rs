//! The string section: NUL-separated names, validated as UTF-8 once so lookups need no per-name check.

/// A BTF string section. Almost always valid UTF-8 (the kernel only accepts identifier-like names); a
/// section that is not falls back to checking each string when it is read.
#[derive(Debug, Clone)]
pub(crate) enum StrTab {
    Utf8(String),
    Raw(Vec<u8>),
}

impl StrTab {
    pub fn new(bytes: Vec<u8>) -> StrTab {
        match String::from_utf8(bytes) {
            Ok(s) => StrTab::Utf8(s),
            Err(e) => StrTab::Raw(e.into_bytes()),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            StrTab::Utf8(s) => s.as_bytes(),
            StrTab::Raw(v) => v,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    /// The bytes of the string starting at `rel`, without its NUL; `None` when `rel` is out of range
    /// or the string is unterminated.
    #[inline]
    pub fn bytes_at(&self, rel: usize) -> Option<&[u8]> {
        let tail = self.bytes().get(rel..)?;
        let n = tail.iter().position(|&b| b == 0)?;
        tail.get(..n)
    }

    /// The string starting at `rel`: `None` when out of range or unterminated, `Some(Err(()))` when not
    /// UTF-8.
    #[inline]
    pub fn str_at(&self, rel: usize) -> Option<Result<&str, ()>> {
        match self {
            StrTab::Utf8(s) => {
                let n = s.as_bytes().get(rel..)?.iter().position(|&b| b == 0)?;
                // A NUL is never inside a multi-byte sequence, so both ends are char boundaries
                // unless `rel` points into the middle of one.
                Some(s.get(rel..rel + n).ok_or(()))
            }
            StrTab::Raw(v) => {
                let b = v.get(rel..)?;
                let n = b.iter().position(|&c| c == 0)?;
                Some(std::str::from_utf8(&b[..n]).map_err(|_| ()))
            }
        }
    }

    /// Appends `s` and its NUL terminator.
    pub fn push_str(&mut self, s: &str) {
        match self {
            StrTab::Utf8(t) => {
                t.push_str(s);
                t.push('\0');
            }
            StrTab::Raw(v) => {
                v.extend_from_slice(s.as_bytes());
                v.push(0);
            }
        }
    }

    /// Overwrites `new.len()` bytes at `rel` with `new` (same-length rename of a string in place).
    pub fn overwrite(&mut self, rel: usize, new: &[u8]) {
        let end = rel + new.len();
        match self {
            StrTab::Utf8(s) => match std::str::from_utf8(new) {
                Ok(n) if s.is_char_boundary(rel) && s.is_char_boundary(end) && end <= s.len() => {
                    s.replace_range(rel..end, n)
                }
                _ => {
                    let mut v = std::mem::take(s).into_bytes();
                    if let Some(dst) = v.get_mut(rel..end) {
                        dst.copy_from_slice(new);
                    }
                    *self = StrTab::new(v);
                }
            },
            StrTab::Raw(v) => {
                if let Some(dst) = v.get_mut(rel..end) {
                    dst.copy_from_slice(new);
                }
            }
        }
    }
}
