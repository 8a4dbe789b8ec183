//! Compiles every `src/bpf/*.bpf.c` with oxbpf-gen's SkeletonBuilder into `$OUT_DIR/<name>.skel.rs`.

fn main() {
    let dir = std::path::Path::new("src/bpf");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut sources: Vec<_> = std::fs::read_dir(dir)
        .expect("examples/src/bpf")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    for src in sources {
        if let Err(e) = oxbpf_gen::SkeletonBuilder::new(&src).build() {
            panic!("{e}");
        }
    }
}
