//! Maps by handle: [`MapHandle`] owns a map fd and knows its sizes, so element access is safe.
//!
//! A handle comes from [`MapHandle::create`] (libbpf's `bpf_map_create`), from an fd, an id or a pinned
//! path. Byte-level operations take and return `&[u8]`/`Vec<u8>`; the `*_pod` variants take any
//! [`bytemuck::Pod`] key and value. Per-CPU maps read and write one value per possible CPU
//! ([`possible_cpus`]), each padded to 8 bytes as the kernel lays them out.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::OnceLock;

use bitflags::bitflags;
use bytemuck::Pod;

use crate::error::{Error, ErrorKind, Result, ResultExt};
use crate::sys::attr::BpfMapInfo;
use crate::sys::bpf::{self as sys, BatchOpts, IdKind, MapCreateOpts};
use crate::sys::mmap::{page_size, Mmap};

pub use crate::sys::types::MapType;

bitflags! {
    /// Flags of element operations (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`, ...).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct MapFlags: u64 {
        /// `BPF_ANY`: create or update (the empty set).
        const ANY = 0;
        /// `BPF_NOEXIST`: create only.
        const NOEXIST = 1;
        /// `BPF_EXIST`: update only.
        const EXIST = 2;
        /// `BPF_F_LOCK`: take the value's spin lock.
        const LOCK = 4;
        /// `BPF_F_CPU`: one CPU of a per-CPU map (CPU number in the upper 32 bits).
        const CPU = 8;
        /// `BPF_F_ALL_CPUS`: write one value to every CPU of a per-CPU map.
        const ALL_CPUS = 16;
    }
}

/// `BPF_F_MMAPABLE` map creation flag.
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
/// `BPF_F_NO_PREALLOC` map creation flag.
pub const BPF_F_NO_PREALLOC: u32 = 1;
/// `BPF_F_RDONLY_PROG` map creation flag.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_INNER_MAP` map creation flag.
pub const BPF_F_INNER_MAP: u32 = 1 << 12;

/// The number of possible CPUs (`/sys/devices/system/cpu/possible`), read once per process.
pub fn possible_cpus() -> Result<usize> {
    static CPUS: OnceLock<std::result::Result<usize, String>> = OnceLock::new();
    CPUS.get_or_init(|| {
        let path = "/sys/devices/system/cpu/possible";
        let text = std::fs::read_to_string(path).map_err(|e| format!("read {path}: {e}"))?;
        parse_cpu_list(&text).map_err(|e| format!("{path}: {e}"))
    })
    .clone()
    .map_err(|m| Error::new(ErrorKind::Io, m))
}

/// Counts the CPUs of a kernel cpu list (`"0-3,8,10-11"`).
pub fn parse_cpu_list(text: &str) -> std::result::Result<usize, String> {
    let mut n = 0usize;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let num = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|_| format!("bad cpu list entry {part:?}"))
        };
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if b < a {
                    return Err(format!("bad cpu range {part:?}"));
                }
                b - a + 1
            }
            None => {
                num(part)?;
                1
            }
        };
    }
    if n == 0 {
        return Err("empty cpu list".into());
    }
    Ok(n)
}

/// What the kernel reports about a map (`struct bpf_map_info`, decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapInfo {
    /// The raw UAPI map type.
    pub map_type_raw: u32,
    /// The map type, if this build knows it.
    pub map_type: Option<MapType>,
    /// Kernel id.
    pub id: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Capacity.
    pub max_entries: u32,
    /// Creation flags.
    pub map_flags: u32,
    /// Name (up to 15 bytes).
    pub name: String,
    /// Offload device.
    pub ifindex: u32,
    /// BTF object id (0: none).
    pub btf_id: u32,
    /// BTF id of the key type.
    pub btf_key_type_id: u32,
    /// BTF id of the value type.
    pub btf_value_type_id: u32,
    /// Kernel BTF id of the value (struct_ops).
    pub btf_vmlinux_value_type_id: u32,
    /// Per-type extra.
    pub map_extra: u64,
}

pub(crate) fn cstr_field(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl From<&BpfMapInfo> for MapInfo {
    fn from(i: &BpfMapInfo) -> Self {
        MapInfo {
            map_type_raw: i.type_,
            map_type: MapType::from_u32(i.type_),
            id: i.id,
            key_size: i.key_size,
            value_size: i.value_size,
            max_entries: i.max_entries,
            map_flags: i.map_flags,
            name: cstr_field(&i.name),
            ifindex: i.ifindex,
            btf_id: i.btf_id,
            btf_key_type_id: i.btf_key_type_id,
            btf_value_type_id: i.btf_value_type_id,
            btf_vmlinux_value_type_id: i.btf_vmlinux_value_type_id,
            map_extra: i.map_extra,
        }
    }
}

/// A kernel map owned by fd, with its sizes cached so element access is checked.
#[derive(Debug)]
pub struct MapHandle {
    fd: OwnedFd,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: String,
}

impl AsFd for MapHandle {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl MapHandle {
    /// `BPF_MAP_CREATE`—create a map (libbpf's `bpf_map_create`).
    pub fn create(
        map_type: MapType,
        name: Option<&str>,
        key_size: u32,
        value_size: u32,
        max_entries: u32,
        opts: &MapCreateOpts<'_>,
    ) -> Result<MapHandle> {
        let kname = crate::program::kernel_name(name);
        let fd = sys::map_create(
            map_type.as_u32(),
            kname,
            key_size,
            value_size,
            max_entries,
            opts,
        )
        .with_context(|| format!("map '{}' ({map_type})", name.unwrap_or("")))?;
        Ok(MapHandle {
            fd,
            map_type: map_type.as_u32(),
            key_size,
            value_size,
            max_entries,
            map_flags: opts.map_flags,
            name: name.unwrap_or("").chars().take(15).collect(),
        })
    }

    /// A handle for an existing map fd; reads its sizes from the kernel.
    pub fn from_fd(fd: OwnedFd) -> Result<MapHandle> {
        let i = sys::map_info(fd.as_fd())?;
        Ok(MapHandle {
            fd,
            map_type: i.type_,
            key_size: i.key_size,
            value_size: i.value_size,
            max_entries: i.max_entries,
            map_flags: i.map_flags,
            name: cstr_field(&i.name),
        })
    }

    /// Opens the map with kernel id `id` (libbpf's `bpf_map_get_fd_by_id`).
    pub fn from_id(id: u32) -> Result<MapHandle> {
        MapHandle::from_fd(sys::get_fd_by_id(IdKind::Map, id, 0, None)?)
    }

    /// Opens the map pinned at `path` (libbpf's `bpf_obj_get`).
    pub fn from_pinned_path(path: impl AsRef<Path>) -> Result<MapHandle> {
        MapHandle::from_fd(sys::obj_get(path.as_ref(), 0)?)
    }

    /// Pins the map at `path` on a bpffs.
    pub fn pin(&self, path: impl AsRef<Path>) -> Result<()> {
        sys::obj_pin(self.fd.as_fd(), path.as_ref())
    }

    /// A second handle to the same map (`dup`).
    pub fn try_clone(&self) -> Result<MapHandle> {
        let fd = self
            .fd
            .try_clone()
            .map_err(|e| Error::io("dup map fd", e))?;
        Ok(MapHandle {
            fd,
            name: self.name.clone(),
            ..*self
        })
    }

    /// The map type (`None` for types newer than this build).
    pub fn map_type(&self) -> Option<MapType> {
        MapType::from_u32(self.map_type)
    }

    /// The name given at creation (or reported by the kernel).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Key size in bytes.
    pub fn key_size(&self) -> u32 {
        self.key_size
    }

    /// Value size in bytes (of one CPU's value for per-CPU maps).
    pub fn value_size(&self) -> u32 {
        self.value_size
    }

    /// Capacity.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// Creation flags.
    pub fn map_flags(&self) -> u32 {
        self.map_flags
    }

    /// What the kernel reports about the map now.
    pub fn info(&self) -> Result<MapInfo> {
        Ok(MapInfo::from(&sys::map_info(self.fd.as_fd())?))
    }

    /// The kernel id of the map.
    pub fn id(&self) -> Result<u32> {
        Ok(sys::map_info(self.fd.as_fd())?.id)
    }

    fn is_percpu(&self) -> bool {
        self.map_type().is_some_and(MapType::is_percpu)
    }

    /// The stride of one CPU's value in per-CPU buffers (value size rounded up to 8).
    fn percpu_stride(&self) -> usize {
        (self.value_size as usize).next_multiple_of(8)
    }

    /// The bytes the kernel writes for one element's value.
    fn value_buf_len(&self, flags: MapFlags) -> Result<usize> {
        // A map type newer than this build might be per-CPU; without knowing how much the kernel
        // writes, element access is refused rather than risking a short buffer.
        if self.map_type().is_none() {
            return Err(Error::new(
                ErrorKind::NotSupported,
                format!(
                    "map '{}': map type {} is unknown to this oxbpf build",
                    self.name, self.map_type
                ),
            ));
        }
        if self.is_percpu() && !flags.contains(MapFlags::CPU) {
            Ok(self.percpu_stride() * possible_cpus()?)
        } else {
            Ok(self.value_size as usize)
        }
    }

    fn check_key(&self, key: &[u8]) -> Result<()> {
        if key.len() != self.key_size as usize {
            return Err(Error::invalid(format!(
                "map '{}': key is {} bytes, the map's key size is {}",
                self.name,
                key.len(),
                self.key_size
            )));
        }
        Ok(())
    }

    fn check_keyless(&self) -> Result<()> {
        if self.key_size != 0 {
            return Err(Error::invalid(format!(
                "map '{}': push/pop/peek need a keyless map (queue, stack, bloom filter)",
                self.name
            )));
        }
        Ok(())
    }

    fn ctx(&self) -> String {
        format!("map '{}'", self.name)
    }

    /// Looks `key` up; `Ok(None)` when absent. Per-CPU maps return all CPUs' values back to back (each
    /// padded to 8 bytes); see [`MapHandle::lookup_percpu`].
    pub fn lookup(&self, key: &[u8], flags: MapFlags) -> Result<Option<Vec<u8>>> {
        self.check_key(key)?;
        let mut value = vec![0u8; self.value_buf_len(flags)?];
        // SAFETY: key has the map's key size (checked) and value the size the kernel writes for these flags.
        match unsafe { sys::map_lookup_elem(self.fd.as_fd(), key, &mut value, flags.bits()) } {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e.context(self.ctx())),
        }
    }

    /// Looks `key` up into a caller buffer without allocating; `Ok(false)` when absent. `value` must be
    /// exactly the size [`MapHandle::lookup`] would return (per-CPU: every CPU's value, 8-byte stride).
    pub fn lookup_into(&self, key: &[u8], value: &mut [u8], flags: MapFlags) -> Result<bool> {
        self.check_key(key)?;
        let want = self.value_buf_len(flags)?;
        if value.len() != want {
            return Err(Error::invalid(format!(
                "map '{}': value buffer is {} bytes, expected {want}",
                self.name,
                value.len()
            )));
        }
        // SAFETY: key has the map's key size and value exactly the size the kernel writes (checked).
        match unsafe { sys::map_lookup_elem(self.fd.as_fd(), key, value, flags.bits()) } {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e.context(self.ctx())),
        }
    }

    /// Stores `value` under `key`. Per-CPU maps take all CPUs' values back to back (8-byte stride), or
    /// one value with `MapFlags::ALL_CPUS`/`MapFlags::CPU`.
    pub fn update(&self, key: &[u8], value: &[u8], flags: MapFlags) -> Result<()> {
        self.check_key(key)?;
        let want = if flags.intersects(MapFlags::ALL_CPUS | MapFlags::CPU) {
            self.value_size as usize
        } else {
            self.value_buf_len(flags)?
        };
        if value.len() != want {
            return Err(Error::invalid(format!(
                "map '{}': value is {} bytes, expected {want}",
                self.name,
                value.len()
            )));
        }
        // SAFETY: key and value have exactly the sizes the kernel reads (checked above).
        unsafe { sys::map_update_elem(self.fd.as_fd(), key, value, flags.bits()) }
            .context(self.ctx())
    }

    /// Removes `key`; `Ok(false)` when it was absent.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        self.check_key(key)?;
        // SAFETY: key has the map's key size.
        match unsafe { sys::map_delete_elem(self.fd.as_fd(), key, 0) } {
            Ok(()) => Ok(true),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e.context(self.ctx())),
        }
    }

    /// Looks up and removes `key` in one step; `Ok(None)` when absent.
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_key(key)?;
        let mut value = vec![0u8; self.value_buf_len(MapFlags::ANY)?];
        // SAFETY: key has the map's key size and value the size the kernel writes.
        match unsafe { sys::map_lookup_and_delete_elem(self.fd.as_fd(), key, &mut value, 0) } {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e.context(self.ctx())),
        }
    }

    /// Queue/stack/bloom filter: adds `value` (`MapFlags::EXIST` overwrites the oldest when full).
    pub fn push(&self, value: &[u8], flags: MapFlags) -> Result<()> {
        self.check_keyless()?;
        if value.len() != self.value_buf_len(MapFlags::ANY)? {
            return Err(Error::invalid(format!(
                "map '{}': value must be {} bytes",
                self.name, self.value_size
            )));
        }
        // SAFETY: keyless map (no key read) and value has the map's value size.
        unsafe { sys::map_update_elem(self.fd.as_fd(), &[], value, flags.bits()) }
            .context(self.ctx())
    }

    /// Queue/stack: removes and returns the next value; `Ok(None)` when empty.
    pub fn pop(&self) -> Result<Option<Vec<u8>>> {
        self.check_keyless()?;
        let mut value = vec![0u8; self.value_buf_len(MapFlags::ANY)?];
        // SAFETY: keyless map (no key read) and value has the map's value size.
        match unsafe { sys::map_lookup_and_delete_elem(self.fd.as_fd(), &[], &mut value, 0) } {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e.context(self.ctx())),
        }
    }

    /// Queue/stack: the next value without removing it; bloom filter: `Some` when `value` may be present.
    pub fn peek(&self, value_for_bloom: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        self.check_keyless()?;
        let mut value = match value_for_bloom {
            Some(v) if v.len() == self.value_size as usize => v.to_vec(),
            Some(_) => {
                return Err(Error::invalid(format!(
                    "map '{}': value must be {} bytes",
                    self.name, self.value_size
                )))
            }
            None => vec![0u8; self.value_buf_len(MapFlags::ANY)?],
        };
        // SAFETY: keyless map (no key read) and value has the map's value size.
        match unsafe { sys::map_lookup_elem(self.fd.as_fd(), &[], &mut value, 0) } {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e.context(self.ctx())),
        }
    }

    /// Per-CPU maps: one value per possible CPU; `Ok(None)` when absent.
    pub fn lookup_percpu(&self, key: &[u8]) -> Result<Option<Vec<Vec<u8>>>> {
        if !self.is_percpu() {
            return Err(Error::invalid(format!(
                "map '{}' is not per-CPU",
                self.name
            )));
        }
        let stride = self.percpu_stride();
        let vs = self.value_size as usize;
        Ok(self
            .lookup(key, MapFlags::ANY)?
            .map(|all| all.chunks(stride).map(|c| c[..vs].to_vec()).collect()))
    }

    /// Per-CPU maps: stores one value per possible CPU (`values.len()` must be the possible CPU count).
    pub fn update_percpu(&self, key: &[u8], values: &[Vec<u8>], flags: MapFlags) -> Result<()> {
        let cpus = possible_cpus()?;
        if !self.is_percpu() || values.len() != cpus {
            return Err(Error::invalid(format!(
                "map '{}': per-CPU update needs {cpus} values on a per-CPU map, got {}",
                self.name,
                values.len()
            )));
        }
        let stride = self.percpu_stride();
        let mut buf = vec![0u8; stride * cpus];
        for (chunk, v) in buf.chunks_mut(stride).zip(values) {
            if v.len() != self.value_size as usize {
                return Err(Error::invalid(format!(
                    "map '{}': value must be {} bytes",
                    self.name, self.value_size
                )));
            }
            chunk[..v.len()].copy_from_slice(v);
        }
        self.update(key, &buf, flags)
    }

    /// The key after `key` (the first key with `None`); `Ok(None)` at the end.
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        if let Some(k) = key {
            self.check_key(k)?;
        }
        // Keyless maps (queue, stack, bloom filter, ring buffers) have nothing to walk.
        if self.key_size == 0 {
            return Ok(None);
        }
        let mut next = vec![0u8; self.key_size as usize];
        // SAFETY: key (if any) and next have the map's key size.
        match unsafe { sys::map_get_next_key(self.fd.as_fd(), key, &mut next) }
            .context(self.ctx())?
        {
            true => Ok(Some(next)),
            false => Ok(None),
        }
    }

    /// Iterates over the keys (libbpf's `bpf_map_get_next_key` loop). Concurrent deletes may restart
    /// the walk, as in the kernel.
    pub fn keys(&self) -> MapKeys<'_> {
        MapKeys {
            map: self,
            prev: None,
            done: false,
        }
    }

    /// `BPF_MAP_FREEZE`—no more writes from user space.
    pub fn freeze(&self) -> Result<()> {
        sys::map_freeze(self.fd.as_fd()).context(self.ctx())
    }

    /// The size of the batch position token: 4 bytes for arrays, the key size otherwise.
    fn batch_token_len(&self) -> usize {
        match self.map_type() {
            Some(MapType::Array | MapType::PercpuArray) => 4,
            _ => (self.key_size as usize).max(4),
        }
    }

    fn lookup_batch_impl(
        &self,
        delete: bool,
        chunk: u32,
        opts: &BatchOpts,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut chunk = chunk.max(1);
        let ks = self.key_size as usize;
        let vs = self.value_buf_len(MapFlags::ANY)?;
        let mut out = Vec::new();
        let tl = self.batch_token_len();
        let (mut tok_in, mut tok_out) = (vec![0u8; tl], vec![0u8; tl]);
        let mut first = true;
        loop {
            let mut keys = vec![0u8; ks * chunk as usize];
            let mut values = vec![0u8; vs * chunk as usize];
            let inb = if first { None } else { Some(&tok_in[..]) };
            // SAFETY: tokens hold the batch token size, keys/values hold `chunk` keys/values of the sizes
            // the kernel writes.
            let r = unsafe {
                if delete {
                    sys::map_lookup_and_delete_batch(
                        self.fd.as_fd(),
                        inb,
                        &mut tok_out,
                        &mut keys,
                        &mut values,
                        chunk,
                        opts,
                    )
                } else {
                    sys::map_lookup_batch(
                        self.fd.as_fd(),
                        inb,
                        &mut tok_out,
                        &mut keys,
                        &mut values,
                        chunk,
                        opts,
                    )
                }
            };
            let r = match r {
                // A hash bucket holds more elements than `chunk`: the kernel copies nothing and asks for
                // a bigger batch at the same position.
                Err(e) if e.errno() == Some(libc::ENOSPC) && chunk < self.max_entries.max(1) => {
                    chunk = chunk.saturating_mul(2).min(self.max_entries.max(1));
                    continue;
                }
                r => r.context(self.ctx())?,
            };
            let n = (r.count as usize).min(chunk as usize);
            for i in 0..n {
                out.push((
                    keys[i * ks..(i + 1) * ks].to_vec(),
                    values[i * vs..(i + 1) * vs].to_vec(),
                ));
            }
            if r.done {
                return Ok(out);
            }
            std::mem::swap(&mut tok_in, &mut tok_out);
            first = false;
        }
    }

    /// `BPF_MAP_LOOKUP_BATCH`—all key/value pairs, fetched `chunk` at a time.
    pub fn lookup_batch(&self, chunk: u32, opts: &BatchOpts) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.lookup_batch_impl(false, chunk, opts)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_BATCH`—drain the map, `chunk` elements at a time.
    pub fn lookup_and_delete_batch(
        &self,
        chunk: u32,
        opts: &BatchOpts,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.lookup_batch_impl(true, chunk, opts)
    }

    /// `BPF_MAP_UPDATE_BATCH`—store `keys.len() / key_size` pairs (keys and values back to back);
    /// returns how many were stored.
    pub fn update_batch(&self, keys: &[u8], values: &[u8], opts: &BatchOpts) -> Result<u32> {
        let count = self.batch_count(keys)?;
        let vs = self.value_buf_len(MapFlags::ANY)?;
        if values.len() != count as usize * vs {
            return Err(Error::invalid(format!(
                "map '{}': {count} values must be {} bytes",
                self.name,
                count as usize * vs
            )));
        }
        // SAFETY: keys holds `count` keys and values `count` values of the kernel's sizes (checked).
        unsafe { sys::map_update_batch(self.fd.as_fd(), keys, values, count, opts) }
            .context(self.ctx())
    }

    /// `BPF_MAP_DELETE_BATCH`—remove `keys.len() / key_size` keys; returns how many were removed.
    pub fn delete_batch(&self, keys: &[u8], opts: &BatchOpts) -> Result<u32> {
        let count = self.batch_count(keys)?;
        // SAFETY: keys holds `count` keys of the map's key size (checked).
        unsafe { sys::map_delete_batch(self.fd.as_fd(), keys, count, opts) }.context(self.ctx())
    }

    fn batch_count(&self, keys: &[u8]) -> Result<u32> {
        let ks = self.key_size as usize;
        if ks == 0 || keys.len() % ks != 0 {
            return Err(Error::invalid(format!(
                "map '{}': keys are not a whole number of {ks}-byte keys",
                self.name
            )));
        }
        u32::try_from(keys.len() / ks).map_err(|_| Error::invalid("too many keys"))
    }

    /// Typed lookup: `K` and `V` must have the map's key and value sizes.
    pub fn lookup_pod<K: Pod, V: Pod>(&self, key: &K, flags: MapFlags) -> Result<Option<V>> {
        self.check_pod::<V>()?;
        Ok(self
            .lookup(bytemuck::bytes_of(key), flags)?
            .map(|v| bytemuck::pod_read_unaligned(&v)))
    }

    /// Typed update: `K` and `V` must have the map's key and value sizes.
    pub fn update_pod<K: Pod, V: Pod>(&self, key: &K, value: &V, flags: MapFlags) -> Result<()> {
        self.check_pod::<V>()?;
        self.update(bytemuck::bytes_of(key), bytemuck::bytes_of(value), flags)
    }

    /// Typed per-CPU lookup: one `V` per possible CPU.
    pub fn lookup_percpu_pod<K: Pod, V: Pod>(&self, key: &K) -> Result<Option<Vec<V>>> {
        if std::mem::size_of::<V>() != self.value_size as usize {
            return Err(self.pod_size_error::<V>());
        }
        Ok(self
            .lookup_percpu(bytemuck::bytes_of(key))?
            .map(|vs| vs.iter().map(|v| bytemuck::pod_read_unaligned(v)).collect()))
    }

    fn check_pod<V>(&self) -> Result<()> {
        if self.is_percpu() || std::mem::size_of::<V>() != self.value_size as usize {
            return Err(self.pod_size_error::<V>());
        }
        Ok(())
    }

    fn pod_size_error<V>(&self) -> Error {
        Error::invalid(format!(
            "map '{}': value type is {} bytes, the map's value size is {}{}",
            self.name,
            std::mem::size_of::<V>(),
            self.value_size,
            if self.is_percpu() {
                " (per-CPU: use the _percpu variants)"
            } else {
                ""
            }
        ))
    }

    /// Maps the values of a `BPF_F_MMAPABLE` array into memory (read-write unless the map is frozen or
    /// read-only to user space). Unmapped when the returned value drops.
    pub fn mmap(&self, writable: bool) -> Result<Mmap> {
        if self.map_flags & BPF_F_MMAPABLE == 0 {
            return Err(Error::invalid(format!(
                "map '{}' was not created with BPF_F_MMAPABLE",
                self.name
            )));
        }
        let len = match self.map_type() {
            Some(MapType::Array) => {
                (self.value_size as usize).next_multiple_of(8) * self.max_entries as usize
            }
            Some(MapType::Arena) => self.max_entries as usize * page_size(),
            _ => {
                return Err(Error::invalid(format!(
                    "map '{}': only arrays and arenas can be mmapped",
                    self.name
                )))
            }
        };
        Mmap::map(
            self.fd.as_fd(),
            len.next_multiple_of(page_size()),
            0,
            writable,
        )
        .context(self.ctx())
    }
}

/// Iterator over the keys of a map; yields errors as items and stops after one.
#[derive(Debug)]
pub struct MapKeys<'a> {
    map: &'a MapHandle,
    prev: Option<Vec<u8>>,
    done: bool,
}

impl Iterator for MapKeys<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.map.next_key(self.prev.as_deref()) {
            Ok(Some(k)) => {
                self.prev = Some(k.clone());
                Some(Ok(k))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The ids of every map in the kernel, ascending (what `bpftool map list` walks); open one with
/// [`MapHandle::from_id`], which fails with `NotFound` if it vanished meanwhile.
pub fn map_ids() -> Result<Vec<u32>> {
    sys::ids(IdKind::Map)
}

/// Info of every map in the kernel (what `bpftool map list` shows); maps freed between listing and
/// opening are skipped.
pub fn list_maps() -> Result<Vec<MapInfo>> {
    let mut out = Vec::new();
    for id in map_ids()? {
        match MapHandle::from_id(id) {
            Ok(m) => out.push(m.info()?),
            Err(e) if e.errno() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3\n"), Ok(4));
        assert_eq!(parse_cpu_list("0"), Ok(1));
        assert_eq!(parse_cpu_list("0-1,4,6-7"), Ok(5));
        assert!(parse_cpu_list("").is_err());
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("x").is_err());
    }
}
