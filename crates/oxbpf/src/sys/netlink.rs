//! rtnetlink, the few messages XDP and tc need on kernels without (or besides) BPF links.
//!
//! Hand-written on purpose: oxbpf sends five message kinds (set a link's XDP program, read it back,
//! add/delete the `clsact` qdisc, add/delete a `cls_bpf` filter). An encoder of a dozen attribute types
//! is smaller than the `netlink-packet-*` crate family it would replace and does not follow their
//! frequent API changes. Replies carry the kernel's extended ACK message ("XDP program already
//! attached", ...) into the error. Socket options live in [`super::socket`].

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::error::{Error, Result};

const NETLINK_ROUTE: i32 = 0;
const SOL_NETLINK: i32 = 270;
const NETLINK_EXT_ACK: i32 = 11;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_ECHO: u16 = 8;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLM_F_CAPPED: u16 = 0x100;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLA_F_NESTED: u16 = 1 << 15;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | (1 << 14));

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const RTM_NEWQDISC: u16 = 36;
const RTM_DELQDISC: u16 = 37;
const RTM_NEWTFILTER: u16 = 44;
const RTM_DELTFILTER: u16 = 45;

const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_NETKIT_PEER_INFO: u16 = 1;
const IFLA_XDP: u16 = 43;
const IFLA_XDP_FD: u16 = 1;
const IFLA_XDP_ATTACHED: u16 = 2;
const IFLA_XDP_FLAGS: u16 = 3;
const IFLA_XDP_PROG_ID: u16 = 4;
const IFLA_XDP_EXPECTED_FD: u16 = 8;
const IFLA_EXT_MASK: u16 = 29;
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_FD: u16 = 6;
const TCA_BPF_NAME: u16 = 7;
const TCA_BPF_FLAGS: u16 = 8;
const TCA_BPF_FLAG_ACT_DIRECT: u32 = 1;

/// `XDP_FLAGS_REPLACE`: replace only if the current program is the expected one.
pub const XDP_FLAGS_REPLACE: u32 = 1 << 4;

/// `TC_H_CLSACT` (= `TC_H_INGRESS`): the clsact qdisc's parent id.
pub const TC_H_CLSACT: u32 = 0xFFFF_FFF1;
/// `TC_H_MIN_INGRESS`.
pub const TC_H_MIN_INGRESS: u32 = 0xFFF2;
/// `TC_H_MIN_EGRESS`.
pub const TC_H_MIN_EGRESS: u32 = 0xFFF3;

/// `TC_H_MAKE(major, minor)`.
pub fn tc_h_make(major: u32, minor: u32) -> u32 {
    (major & 0xFFFF_0000) | (minor & 0xFFFF)
}

/// A netlink message under construction: header, fixed family header, then attributes.
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    fn new(ty: u16, flags: u16, family_header: &[u8]) -> Msg {
        let mut buf = vec![0u8; 16];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        buf.extend_from_slice(family_header);
        pad(&mut buf);
        Msg {
            buf,
            nests: Vec::new(),
        }
    }
    fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Self {
        let len = (4 + data.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        pad(&mut self.buf);
        self
    }
    fn u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes())
    }
    fn str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(ty, &d)
    }
    fn raw(&mut self, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(data);
        pad(&mut self.buf);
        self
    }
    fn begin(&mut self, ty: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.attr(ty | NLA_F_NESTED, &[])
    }
    fn end(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }
    fn finish(mut self, seq: u32) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf[8..12].copy_from_slice(&seq.to_ne_bytes());
        self.buf
    }
}

fn pad(buf: &mut Vec<u8>) {
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

fn ifinfomsg(ifindex: i32) -> [u8; 16] {
    let mut h = [0u8; 16];
    h[0] = libc::AF_UNSPEC as u8;
    h[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    h
}

fn tcmsg(ifindex: i32, handle: u32, parent: u32, info: u32) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[0] = libc::AF_UNSPEC as u8;
    h[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    h[8..12].copy_from_slice(&handle.to_ne_bytes());
    h[12..16].copy_from_slice(&parent.to_ne_bytes());
    h[16..20].copy_from_slice(&info.to_ne_bytes());
    h
}

/// Iterates the `(type, payload)` attributes of `data`, stopping at the first malformed one.
fn attrs(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let hdr = data.get(off..off + 4)?;
        let len = u16::from_ne_bytes([hdr[0], hdr[1]]) as usize;
        let ty = u16::from_ne_bytes([hdr[2], hdr[3]]) & NLA_TYPE_MASK;
        let payload = data.get(off + 4..off + len.max(4))?;
        off += (len.max(4) + 3) & !3;
        Some((ty, payload))
    })
}

fn u32_of(b: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(..4)?.try_into().ok()?))
}

/// One reply message: its type and the bytes after the netlink header.
struct Reply {
    ty: u16,
    body: Vec<u8>,
}

struct Socket {
    fd: OwnedFd,
}

impl Socket {
    fn open() -> Result<Socket> {
        // SAFETY: plain socket(2) call with constant arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(Error::last_os_error("socket(AF_NETLINK)"));
        }
        // SAFETY: `fd` is a new descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Failure only loses the kernel's extended ACK messages: ignored.
        let _ = super::socket::set_option(
            fd.as_fd(),
            SOL_NETLINK,
            NETLINK_EXT_ACK,
            &1i32,
            "NETLINK_EXT_ACK",
        );
        // A reply that never comes (a kernel bug, or a request that is not acknowledged) must not
        // hang the caller: give up after a few seconds.
        let _ = super::socket::set_recv_timeout(fd.as_fd(), std::time::Duration::from_secs(5));
        Ok(Socket { fd })
    }

    /// Sends `msg` and collects replies until the ACK (or DONE); a negative ACK becomes an error.
    fn request(&self, msg: Msg, op: &str) -> Result<Vec<Reply>> {
        let seq = 1;
        let bytes = msg.finish(seq);
        // SAFETY: `bytes` is a live buffer of the length passed; the kernel reads it only.
        let sent =
            unsafe { libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
        if sent < 0 {
            return Err(Error::last_os_error(op));
        }
        let mut replies = Vec::new();
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            // SAFETY: `buf` is a live, writable buffer of the length passed.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::last_os_error(op));
            }
            let data = &buf[..n as usize];
            let mut off = 0usize;
            while let Some(hdr) = data.get(off..off + 16) {
                let len = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
                let ty = u16::from_ne_bytes([hdr[4], hdr[5]]);
                let flags = u16::from_ne_bytes([hdr[6], hdr[7]]);
                if len < 16 {
                    return Err(Error::malformed(format!(
                        "{op}: netlink reply with length {len}"
                    )));
                }
                let body = data.get(off + 16..off + len).unwrap_or_default();
                match ty {
                    NLMSG_ERROR => {
                        let errno = body
                            .get(..4)
                            .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        if errno == 0 {
                            return Ok(replies);
                        }
                        let mut err = Error::from_errno(op, -errno);
                        if let Some(text) = ext_ack_message(body, flags) {
                            err = err.context(text);
                        }
                        return Err(err);
                    }
                    NLMSG_DONE => return Ok(replies),
                    _ => replies.push(Reply {
                        ty,
                        body: body.to_vec(),
                    }),
                }
                off += (len + 3) & !3;
            }
        }
    }
}

/// The kernel's extended-ACK text, if the error message carries one.
fn ext_ack_message(body: &[u8], flags: u16) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    // errno (4) + the original header (16) + its payload unless capped.
    let orig_len = body.get(4..8).and_then(u32_of)? as usize;
    let skip = if flags & NLM_F_CAPPED != 0 {
        4 + 16
    } else {
        4 + orig_len
    };
    attrs(body.get(skip..)?)
        .find(|(ty, _)| *ty == NLMSGERR_ATTR_MSG)
        .map(|(_, p)| {
            String::from_utf8_lossy(p.split(|&b| b == 0).next().unwrap_or(p)).into_owned()
        })
}

/// Attaches (`prog = Some`) or detaches (`None`) an XDP program on `ifindex` with `XDP_FLAGS_*` `flags`.
///
/// With [`XDP_FLAGS_REPLACE`], `expected` must be the program currently attached.
pub fn xdp_set(
    ifindex: i32,
    prog: Option<BorrowedFd<'_>>,
    flags: u32,
    expected: Option<BorrowedFd<'_>>,
) -> Result<()> {
    let sock = Socket::open()?;
    let mut msg = Msg::new(RTM_SETLINK, NLM_F_ACK, &ifinfomsg(ifindex));
    msg.begin(IFLA_XDP);
    msg.u32(IFLA_XDP_FD, prog.map_or(-1, |p| p.as_raw_fd()) as u32);
    if flags != 0 {
        msg.u32(IFLA_XDP_FLAGS, flags);
    }
    if let Some(e) = expected {
        msg.u32(IFLA_XDP_EXPECTED_FD, e.as_raw_fd() as u32);
    }
    msg.end();
    sock.request(msg, "netlink RTM_SETLINK (XDP)").map(|_| ())
}

/// The XDP attachment of `ifindex`: the `XDP_ATTACHED_*` mode (0 = none) and the program id.
pub fn xdp_query(ifindex: i32) -> Result<(u8, u32)> {
    let sock = Socket::open()?;
    let mut msg = Msg::new(RTM_GETLINK, NLM_F_ACK, &ifinfomsg(ifindex));
    msg.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    let replies = sock.request(msg, "netlink RTM_GETLINK")?;
    for r in replies.iter().filter(|r| r.ty == RTM_NEWLINK) {
        let Some(link_attrs) = r.body.get(16..) else {
            continue;
        };
        for (ty, payload) in attrs(link_attrs) {
            if ty != IFLA_XDP {
                continue;
            }
            let (mut mode, mut id) = (0u8, 0u32);
            for (t, p) in attrs(payload) {
                match t {
                    IFLA_XDP_ATTACHED => mode = p.first().copied().unwrap_or(0),
                    IFLA_XDP_PROG_ID => id = u32_of(p).unwrap_or(0),
                    _ => {}
                }
            }
            return Ok((mode, id));
        }
    }
    Ok((0, 0))
}

/// The interface index of network device `name` in the calling thread's network namespace.
pub fn link_index(name: &str) -> Result<u32> {
    let sock = Socket::open()?;
    let mut msg = Msg::new(RTM_GETLINK, NLM_F_ACK, &ifinfomsg(0));
    msg.str(IFLA_IFNAME, name);
    msg.u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    let replies = sock
        .request(msg, "netlink RTM_GETLINK")
        .map_err(|e| e.context(format!("network interface '{name}'")))?;
    replies
        .iter()
        .filter(|r| r.ty == RTM_NEWLINK)
        .find_map(|r| r.body.get(4..8).and_then(u32_of))
        .ok_or_else(|| Error::not_found(format!("network interface '{name}' not found")))
}

/// Creates a netkit device pair (kernel ≥ 6.7) named `primary` and `peer` in the calling thread's
/// network namespace, with the kernel's defaults (L3 mode, both sides forwarding). `EOPNOTSUPP`
/// ("Unknown device type") on kernels without netkit. For tests and tools on hosts whose iproute2
/// predates `ip link add type netkit`.
pub fn netkit_create(primary: &str, peer: &str) -> Result<()> {
    let sock = Socket::open()?;
    let mut msg = Msg::new(
        RTM_NEWLINK,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        &ifinfomsg(0),
    );
    msg.str(IFLA_IFNAME, primary);
    msg.begin(IFLA_LINKINFO);
    msg.str(IFLA_INFO_KIND, "netkit");
    msg.begin(IFLA_INFO_DATA);
    // The peer's own link message: its ifinfomsg, then its attributes.
    msg.begin(IFLA_NETKIT_PEER_INFO);
    msg.raw(&ifinfomsg(0));
    msg.str(IFLA_IFNAME, peer);
    msg.end();
    msg.end();
    msg.end();
    sock.request(msg, "netlink RTM_NEWLINK (netkit)")
        .map(|_| ())
        .map_err(|e| e.context(format!("netkit pair '{primary}'/'{peer}'")))
}

/// Adds the `clsact` qdisc to `ifindex`; `EEXIST` when it is already there.
pub fn clsact_create(ifindex: i32) -> Result<()> {
    let sock = Socket::open()?;
    let mut msg = Msg::new(
        RTM_NEWQDISC,
        NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        &tcmsg(ifindex, tc_h_make(TC_H_CLSACT, 0), TC_H_CLSACT, 0),
    );
    msg.str(TCA_KIND, "clsact");
    sock.request(msg, "netlink RTM_NEWQDISC (clsact)")
        .map(|_| ())
}

/// Removes the `clsact` qdisc (and every filter on it) from `ifindex`.
pub fn clsact_destroy(ifindex: i32) -> Result<()> {
    let sock = Socket::open()?;
    let mut msg = Msg::new(
        RTM_DELQDISC,
        NLM_F_ACK,
        &tcmsg(ifindex, tc_h_make(TC_H_CLSACT, 0), TC_H_CLSACT, 0),
    );
    msg.str(TCA_KIND, "clsact");
    sock.request(msg, "netlink RTM_DELQDISC (clsact)")
        .map(|_| ())
}

/// Adds a direct-action `cls_bpf` filter running `prog` at `parent` (e.g. clsact ingress).
///
/// `handle` and `priority` may be 0 for the kernel to choose; the ones in effect are returned.
pub fn tc_filter_add(
    ifindex: i32,
    parent: u32,
    handle: u32,
    priority: u16,
    prog: BorrowedFd<'_>,
    name: &str,
    replace: bool,
) -> Result<(u32, u16)> {
    let sock = Socket::open()?;
    let protocol = (libc::ETH_P_ALL as u16).to_be() as u32;
    let info = tc_h_make(u32::from(priority) << 16, protocol);
    let flags = NLM_F_ACK | NLM_F_ECHO | NLM_F_CREATE | if replace { 0 } else { NLM_F_EXCL };
    let mut msg = Msg::new(RTM_NEWTFILTER, flags, &tcmsg(ifindex, handle, parent, info));
    msg.str(TCA_KIND, "bpf");
    msg.begin(TCA_OPTIONS);
    msg.u32(TCA_BPF_FD, prog.as_raw_fd() as u32);
    msg.str(TCA_BPF_NAME, name);
    msg.u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
    msg.end();
    let replies = sock.request(msg, "netlink RTM_NEWTFILTER (cls_bpf)")?;
    for r in replies.iter().filter(|r| r.ty == RTM_NEWTFILTER) {
        if let (Some(h), Some(i)) = (
            r.body.get(8..12).and_then(u32_of),
            r.body.get(16..20).and_then(u32_of),
        ) {
            return Ok((h, (i >> 16) as u16));
        }
    }
    if handle == 0 || priority == 0 {
        return Err(Error::malformed(
            "netlink RTM_NEWTFILTER: the kernel did not echo the new filter's handle and priority",
        ));
    }
    Ok((handle, priority))
}

/// Deletes the `cls_bpf` filter at `parent` with `handle` and `priority`.
pub fn tc_filter_del(ifindex: i32, parent: u32, handle: u32, priority: u16) -> Result<()> {
    let sock = Socket::open()?;
    let protocol = (libc::ETH_P_ALL as u16).to_be() as u32;
    let info = tc_h_make(u32::from(priority) << 16, protocol);
    let mut msg = Msg::new(
        RTM_DELTFILTER,
        NLM_F_ACK,
        &tcmsg(ifindex, handle, parent, info),
    );
    msg.str(TCA_KIND, "bpf");
    sock.request(msg, "netlink RTM_DELTFILTER (cls_bpf)")
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_attributes_encode_and_decode() {
        let mut m = Msg::new(RTM_SETLINK, NLM_F_ACK, &ifinfomsg(7));
        m.begin(IFLA_XDP)
            .u32(IFLA_XDP_FD, 5)
            .u32(IFLA_XDP_FLAGS, 2)
            .end();
        let bytes = m.finish(1);
        assert_eq!(u32_of(&bytes).unwrap() as usize, bytes.len());
        assert_eq!(bytes.len(), 16 + 16 + 4 + 8 + 8);
        let top: Vec<_> = attrs(&bytes[32..]).collect();
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].0, IFLA_XDP);
        let inner: Vec<_> = attrs(top[0].1)
            .map(|(t, p)| (t, u32_of(p).unwrap()))
            .collect();
        assert_eq!(inner, vec![(IFLA_XDP_FD, 5), (IFLA_XDP_FLAGS, 2)]);
    }

    #[test]
    fn malformed_attributes_stop_cleanly() {
        assert_eq!(attrs(&[8, 0, 1]).count(), 0);
        assert_eq!(attrs(&[200, 0, 1, 0, 1, 2]).count(), 0);
    }
}
