//! A small owned epoll instance for the event-stream readers: one token (`u64`) per watched fd.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll;

use crate::error::{Error, Result};

/// Readiness wanted from a watched fd.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// `EPOLLIN`: data to read (ring buffer, perf ring).
    Readable,
    /// `EPOLLOUT`: room to write (user ring buffer).
    Writable,
}

/// An epoll instance (`epoll_create1(EPOLL_CLOEXEC)`) with a reusable event list.
pub(crate) struct Epoll {
    fd: OwnedFd,
    events: Vec<epoll::Event>,
}

impl Epoll {
    /// A new, empty epoll instance.
    pub(crate) fn new() -> Result<Epoll> {
        let fd = epoll::create(epoll::CreateFlags::CLOEXEC)
            .map_err(|e| Error::from_errno("epoll_create1", e.raw_os_error()))?;
        Ok(Epoll {
            fd,
            events: Vec::new(),
        })
    }

    /// Watches `fd` (level-triggered); `token` comes back from [`Epoll::wait`] when it is ready.
    pub(crate) fn add(&mut self, fd: BorrowedFd<'_>, token: u64, interest: Interest) -> Result<()> {
        let flags = match interest {
            Interest::Readable => epoll::EventFlags::IN,
            Interest::Writable => epoll::EventFlags::OUT,
        };
        epoll::add(&self.fd, fd, epoll::EventData::new_u64(token), flags)
            .map_err(|e| Error::from_errno("epoll_ctl(EPOLL_CTL_ADD)", e.raw_os_error()))?;
        self.events.reserve(1);
        Ok(())
    }

    /// Waits up to `timeout` (`None`: forever) and calls `ready` with the token of each ready fd.
    /// Returns how many fds were ready; an interrupted wait (`EINTR`) counts as zero.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        mut ready: impl FnMut(u64) -> Result<()>,
    ) -> Result<usize> {
        let ts = timeout.map(|d| rustix::event::Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        let cap = self.events.capacity().max(1);
        self.events.clear();
        self.events.reserve(cap);
        match epoll::wait(
            &self.fd,
            rustix::buffer::spare_capacity(&mut self.events),
            ts.as_ref(),
        ) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(0),
            Err(e) => return Err(Error::from_errno("epoll_wait", e.raw_os_error())),
        }
        let n = self.events.len();
        for i in 0..n {
            let token = self.events.get(i).map(|e| e.data.u64());
            if let Some(token) = token {
                ready(token)?;
            }
        }
        Ok(n)
    }
}

impl Epoll {
    /// Waits up to `timeout` (`None`: forever) for any watched fd; true when one was ready.
    pub(crate) fn wait_ready(&self, timeout: Option<Duration>) -> Result<bool> {
        let ts = timeout.map(|d| rustix::event::Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        let mut buf = [std::mem::MaybeUninit::<epoll::Event>::uninit(); 1];
        match epoll::wait(&self.fd, &mut buf, ts.as_ref()) {
            Ok((ready, _)) => Ok(!ready.is_empty()),
            Err(rustix::io::Errno::INTR) => Ok(false),
            Err(e) => Err(Error::from_errno("epoll_wait", e.raw_os_error())),
        }
    }
}

impl std::fmt::Debug for Epoll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Epoll").field("fd", &self.fd).finish()
    }
}

impl AsFd for Epoll {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_token_of_a_ready_fd() {
        let (r, mut w) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut ep = Epoll::new().unwrap();
        ep.add(r.as_fd(), 42, Interest::Readable).unwrap();
        let mut seen = vec![];
        let n = ep
            .wait(Some(Duration::ZERO), |t| {
                seen.push(t);
                Ok(())
            })
            .unwrap();
        assert_eq!((n, seen.len()), (0, 0));
        std::io::Write::write_all(&mut w, b"x").unwrap();
        let n = ep
            .wait(Some(Duration::from_secs(1)), |t| {
                seen.push(t);
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(seen, vec![42]);
    }
}
