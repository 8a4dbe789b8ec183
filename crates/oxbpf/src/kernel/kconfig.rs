//! The running kernel's configuration (`CONFIG_*=value` lines) from `/boot/config-$(uname -r)` or
//! `/proc/config.gz` (gzip-compressed or plain), read once per process.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

/// Kernel config entries: `CONFIG_FOO` → raw value text (`y`, `m`, `"str"`, `100`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kconfig {
    entries: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Kconfig {
    /// Parses config text. Lines not starting with `CONFIG_` are ignored; a `CONFIG_` line without
    /// `=` or without a value is an error, as in libbpf. The first occurrence of a name wins.
    pub fn parse(text: &str) -> Result<Kconfig> {
        let mut k = Kconfig::default();
        for line in text.lines() {
            if !line.starts_with("CONFIG_") {
                continue;
            }
            let (name, value) = line.split_once('=').ok_or_else(|| {
                Error::malformed(format!("failed to parse '{line}': no separator"))
            })?;
            if value.is_empty() {
                return Err(Error::malformed(format!(
                    "failed to parse '{line}': no value"
                )));
            }
            if !k.index.contains_key(name) {
                k.index.insert(name.to_string(), k.entries.len());
                k.entries.push((name.to_string(), value.to_string()));
            }
        }
        Ok(k)
    }

    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.index
            .get(name)
            .and_then(|&i| self.entries.get(i))
            .map(|(_, v)| v.as_str())
    }

    /// Every entry in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads a config file that may be gzip-compressed.
pub fn read_config_file(path: &std::path::Path) -> Result<Kconfig> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut s)
            .map_err(|e| Error::io(format!("decompress {}", path.display()), e))?;
        s
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Kconfig::parse(&text)
        .map_err(|e| e.context(format!("error parsing system Kconfig {}", path.display())))
}

/// The running kernel's config: `/boot/config-$(uname -r)`, else `/proc/config.gz`. Cached.
pub fn host_kconfig() -> Result<Arc<Kconfig>> {
    static CONFIG: OnceLock<std::result::Result<Arc<Kconfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let boot = std::path::PathBuf::from(format!(
                "/boot/config-{}",
                super::version::kernel_release()
            ));
            let r = if boot.exists() {
                read_config_file(&boot)
            } else {
                read_config_file("/proc/config.gz".as_ref())
            };
            r.map(Arc::new)
                .map_err(|e| format!("failed to open system Kconfig: {e}"))
        })
        .clone()
        .map_err(Error::not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_and_rejects_broken_lines() {
        let k = Kconfig::parse(
            "# comment\nCONFIG_A=y\nCONFIG_B=\"str\"\nCONFIG_HZ=250\n# CONFIG_C is not set\n",
        )
        .unwrap();
        assert_eq!(k.get("CONFIG_A"), Some("y"));
        assert_eq!(k.get("CONFIG_B"), Some("\"str\""));
        assert_eq!(k.get("CONFIG_HZ"), Some("250"));
        assert_eq!(k.get("CONFIG_C"), None);
        assert!(Kconfig::parse("CONFIG_X\n").is_err());
        assert!(Kconfig::parse("CONFIG_X=\n").is_err());
    }

    #[test]
    fn host_config_is_readable_here() {
        // This host has /proc/config.gz; elsewhere a missing config is an error, not a panic.
        if let Ok(k) = host_kconfig() {
            assert!(k.get("CONFIG_BPF").is_some());
        }
    }
}
