//! The running kernel's version as `LINUX_VERSION_CODE` (`KERNEL_VERSION(a, b, c)`), found the way
//! libbpf's `get_kernel_version` finds it: Ubuntu's `/proc/version_signature`, Debian's
//! `uname -v`, then `uname -r`. Read once per process.

use std::sync::OnceLock;

/// `KERNEL_VERSION(major, minor, patch)`, the patch level saturating at 255.
pub fn kernel_version_code(major: u32, minor: u32, patch: u32) -> u32 {
    (major << 16) + (minor << 8) + patch.min(255)
}

/// Parses the first `a.b.c` at the start of `s` (trailing text after `c` allowed).
pub fn parse_triple(s: &str) -> Option<(u32, u32, u32)> {
    let mut parts = s.splitn(3, '.');
    let a = parts.next()?.parse().ok()?;
    let b = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((a, b, digits.parse().ok()?))
}

/// The version from the three sources libbpf reads, given as text: the contents of
/// `/proc/version_signature` (if any), `uname -v` and `uname -r`. Pure, for tests.
pub fn version_from(signature: Option<&str>, uts_version: &str, uts_release: &str) -> Option<u32> {
    if let Some(sig) = signature {
        // "Ubuntu 5.15.0-91.101-generic 5.15.131": the third field.
        if let Some((a, b, c)) = sig.split_whitespace().nth(2).and_then(parse_triple) {
            return Some(kernel_version_code(a, b, c));
        }
    }
    if let Some(pos) = uts_version.find("Debian ") {
        if let Some((a, b, c)) = parse_triple(&uts_version[pos + 7..]) {
            return Some(kernel_version_code(a, b, c));
        }
    }
    parse_triple(uts_release).map(|(a, b, c)| kernel_version_code(a, b, c))
}

/// The running kernel's `LINUX_VERSION_CODE`, or `None` when it cannot be told.
pub fn kernel_version() -> Option<u32> {
    static VERSION: OnceLock<Option<u32>> = OnceLock::new();
    *VERSION.get_or_init(|| {
        let sig = std::fs::read_to_string("/proc/version_signature").ok();
        let version = read_trimmed("/proc/sys/kernel/version");
        version_from(sig.as_deref(), &version, &kernel_release())
    })
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `uname -r` of the running kernel (from `/proc/sys/kernel/osrelease`).
pub fn kernel_release() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_in_libbpf_order() {
        assert_eq!(
            version_from(None, "#1 SMP", "6.18.44-fc-v669"),
            Some(kernel_version_code(6, 18, 44))
        );
        assert_eq!(
            version_from(
                None,
                "#1 SMP Debian 4.19.260-1 (2022-09-29)",
                "4.19.0-22-amd64"
            ),
            Some(kernel_version_code(4, 19, 255))
        );
        assert_eq!(
            version_from(
                Some("Ubuntu 5.15.0-91.101-generic 5.15.131\n"),
                "#1",
                "5.15.0-91-generic"
            ),
            Some(kernel_version_code(5, 15, 131))
        );
        assert_eq!(version_from(None, "", "garbage"), None);
        assert_eq!(kernel_version_code(6, 18, 300), 0x0612ff);
    }
}
