//! The one error type of oxbpf.
//!
//! Every failure names what failed (object, program, map, section, relocation, bpf command) and why.
//! Kernel failures carry the errno; verifier failures carry the verifier log. Callers branch on
//! [`ErrorKind`], people read [`Display`](std::fmt::Display).

use std::fmt;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is; stable enough to `match` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The kernel (or this build) lacks the feature: `EOPNOTSUPP`, `ENOTSUPP`, `ENOSYS`, a missing PMU, ...
    NotSupported,
    /// The kernel refused for lack of privilege: `EPERM`, `EACCES` outside the verifier.
    PermissionDenied,
    /// A named thing does not exist: `ENOENT`, a missing symbol, map, program or BTF type.
    NotFound,
    /// The thing already exists: `EEXIST`.
    AlreadyExists,
    /// The caller asked for something invalid (wrong sizes, bad names, wrong state).
    InvalidInput,
    /// Input bytes (ELF, BTF, BTF.ext, notes) are malformed.
    Malformed,
    /// The verifier rejected a program; [`Error::verifier_log`] holds its log.
    Verifier,
    /// The resource is busy: `EBUSY`, `EAGAIN`.
    Busy,
    /// An I/O failure outside `bpf(2)` (files, `/proc`, `/sys`).
    Io,
    /// Anything else the kernel returned; see [`Error::errno`].
    Other,
}

impl ErrorKind {
    /// Maps an errno to the kind a caller most likely wants to branch on.
    pub fn from_errno(errno: i32) -> Self {
        match errno {
            libc::EPERM | libc::EACCES => ErrorKind::PermissionDenied,
            libc::ENOENT | libc::ESRCH | libc::ENODEV => ErrorKind::NotFound,
            libc::EEXIST => ErrorKind::AlreadyExists,
            libc::EOPNOTSUPP | libc::ENOSYS | 524 /* ENOTSUPP */ => ErrorKind::NotSupported,
            libc::EBUSY | libc::EAGAIN => ErrorKind::Busy,
            libc::EINVAL | libc::E2BIG | libc::ERANGE => ErrorKind::InvalidInput,
            _ => ErrorKind::Other,
        }
    }
}

/// An oxbpf error: a kind, a message with its context chain, and optionally an errno and a verifier log.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    errno: Option<i32>,
    log: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                errno: None,
                log: None,
                source: None,
            }),
        }
    }

    /// Malformed input: `what` names the thing being parsed and the rule it broke.
    pub fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Malformed, message)
    }

    /// Invalid request from the caller.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    /// Something named does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    /// A failed system call: `op` names it (e.g. `"BPF_MAP_CREATE"`, `"perf_event_open"`).
    pub fn from_errno(op: &str, errno: i32) -> Self {
        let text = std::io::Error::from_raw_os_error(errno);
        let mut e = Error::new(ErrorKind::from_errno(errno), format!("{op} failed: {text}"));
        e.inner.errno = Some(errno);
        e
    }

    /// A failed system call, reading `errno` from the calling thread.
    pub fn last_os_error(op: &str) -> Self {
        Error::from_errno(
            op,
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        )
    }

    /// An I/O error while doing `what` (e.g. `"read /proc/kallsyms"`).
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        let kind = match err.raw_os_error() {
            Some(n) => match ErrorKind::from_errno(n) {
                ErrorKind::Other => ErrorKind::Io,
                k => k,
            },
            None if err.kind() == std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            None => ErrorKind::Io,
        };
        let mut e = Error::new(kind, format!("{what}: {err}"));
        e.inner.errno = err.raw_os_error();
        e.inner.source = Some(Box::new(err));
        e
    }

    /// Prefixes the message with `ctx` ("map 'events': " + message), keeping kind, errno and log.
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.inner.message = format!("{ctx}: {}", self.inner.message);
        self
    }

    /// Replaces the kind, keeping the rest.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    /// Attaches a verifier (or BTF loader) log.
    pub fn with_log(mut self, log: impl Into<String>) -> Self {
        let log = log.into();
        self.inner.log = if log.is_empty() { None } else { Some(log) };
        self
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The errno of the failed system call, if one failed.
    pub fn errno(&self) -> Option<i32> {
        self.inner.errno
    }

    /// The verifier (or BTF loader) log, when the kernel gave one.
    pub fn verifier_log(&self) -> Option<&str> {
        self.inner.log.as_deref()
    }

    /// The message with its context chain, without the log.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        // `{:#}` appends the whole log; plain `{}` stays one line.
        if f.alternate() {
            if let Some(log) = &self.inner.log {
                write!(f, "\n--- log ---\n{log}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(e) = self.inner.errno {
            d.field("errno", &e);
        }
        if let Some(log) = &self.inner.log {
            d.field("log_lines", &log.lines().count());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::io("I/O", err)
    }
}

/// Adds context to the error of a `Result`.
pub trait ResultExt<T> {
    /// Prefixes the error's message with `ctx`.
    fn context(self, ctx: impl fmt::Display) -> Result<T>;
    /// Prefixes the error's message with the context `f` builds, only on error.
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn context(self, ctx: impl fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(ctx))
    }
    fn with_context<C: fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_maps_to_kind_and_message() {
        let e = Error::from_errno("BPF_PROG_LOAD", libc::EPERM).context("prog 'handle'");
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(e.errno(), Some(libc::EPERM));
        assert!(
            e.to_string()
                .starts_with("prog 'handle': BPF_PROG_LOAD failed"),
            "{e}"
        );
    }

    #[test]
    fn log_only_in_alternate_display() {
        let e = Error::new(ErrorKind::Verifier, "rejected").with_log("0: R1 invalid");
        assert_eq!(e.to_string(), "rejected");
        assert!(format!("{e:#}").contains("R1 invalid"));
        assert_eq!(e.verifier_log(), Some("0: R1 invalid"));
    }
}
