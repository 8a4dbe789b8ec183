//! `oxbpf gen skeleton`: Rust source with the object embedded and the named accessors.

mod util;

use util::oxbpf;

#[test]
fn gen_skeleton_writes_a_self_contained_skeleton() {
    let obj = oxbpf_tests::fixture("minimal");
    let src = util::stdout_of(oxbpf().args(["gen", "skeleton"]).arg(&obj));
    assert!(
        src.contains("pub const OBJECT: &[u8] = b\"\\x7FELF"),
        "object embedded"
    );
    for item in [
        "pub struct OpenMinimalSkel",
        "pub struct MinimalSkel",
        "pub fn rodata_mut(&mut self) -> &mut types::rodata",
        "pub fn bss(&self) -> &types::bss",
        "pub handle_write: &'a ::oxbpf::object::Program",
        "pub target_pid: i32",
        "pub hits: i64",
    ] {
        assert!(src.contains(item), "missing `{item}`");
    }
    // --name and -o.
    let dir = tempfile_dir();
    let dst = dir.join("skel.rs");
    let st = oxbpf()
        .args(["gen", "skeleton", "--name", "other", "-o"])
        .arg(&dst)
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    assert!(std::fs::read_to_string(&dst)
        .unwrap()
        .contains("pub struct OtherSkel"));
    std::fs::remove_dir_all(&dir).unwrap();
    // Not an object: an error naming it.
    let out = oxbpf()
        .args(["gen", "skeleton", "/etc/hostname"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("gen skeleton"));
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("oxbpf-cli-skel-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
