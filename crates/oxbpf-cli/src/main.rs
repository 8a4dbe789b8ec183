//! `oxbpf`: check BPF objects, dump BTF, generate headers and skeletons, list kernel BPF objects.

mod btf;
mod kernel_objects;
mod object;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "oxbpf",
    version,
    about = "libbpf, rebuilt in pure Rust: inspect and load BPF objects"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work with BPF object files (.bpf.o).
    #[command(subcommand)]
    Object(ObjectCmd),
    /// BPF programs loaded in the running kernel.
    #[command(subcommand)]
    Prog(ListCmd),
    /// BPF maps in the running kernel.
    #[command(subcommand)]
    Map(ListCmd),
    /// BPF links in the running kernel.
    #[command(subcommand)]
    Link(ListCmd),
    /// Inspect BTF: dump it as C (vmlinux.h) or as a raw listing.
    #[command(subcommand)]
    Btf(btf::BtfCmd),
    /// Generate files: the BPF-side C headers, Rust skeletons.
    #[command(subcommand)]
    Gen(GenCmd),
}

#[derive(Subcommand)]
enum ListCmd {
    /// List all of them.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show one, by kernel id.
    Show {
        /// The kernel id.
        id: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ObjectCmd {
    /// Open and load each object, report per program whether it loads and its tag.
    Check {
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        /// After loading, auto-attach each program as its SEC() says, report it, then detach.
        #[arg(long)]
        attach: bool,
        /// The objects to check.
        #[arg(required = true)]
        objects: Vec<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum GenCmd {
    /// Write oxbpf's BPF-side headers to DIR/bpf/ (bpf_helpers.h, ...); compile with `-I DIR`.
    Headers {
        /// Destination directory (created if missing).
        dir: std::path::PathBuf,
    },
    /// Write the Rust skeleton of an object (`include!` it in a module; needs the `oxbpf` crate).
    Skeleton {
        /// The object (.bpf.o).
        obj: std::path::PathBuf,
        /// Object name (default: the file name up to its first `.`).
        #[arg(long)]
        name: Option<String>,
        /// Output file (default: stdout).
        #[arg(short, long)]
        out: Option<std::path::PathBuf>,
    },
}

fn list(kind: kernel_objects::Kind, cmd: ListCmd) -> ExitCode {
    match cmd {
        ListCmd::List { json } => kernel_objects::run(kind, None, json),
        ListCmd::Show { id, json } => kernel_objects::run(kind, Some(id), json),
    }
}

fn gen_headers(dir: &std::path::Path) -> ExitCode {
    match oxbpf_gen::write_headers(dir) {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("oxbpf: gen headers: writing to {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}

fn gen_skeleton(
    obj: &std::path::Path,
    name: Option<String>,
    out: Option<std::path::PathBuf>,
) -> ExitCode {
    let name = name.unwrap_or_else(|| oxbpf::obj::object_name_from_path(obj));
    let res = std::fs::read(obj)
        .map_err(|e| format!("reading {}: {e}", obj.display()))
        .and_then(|data| {
            oxbpf_gen::Generator::new(&name, oxbpf_gen::Embed::Literal)
                .generate(&data)
                .map_err(|e| e.to_string())
        })
        .and_then(|src| match &out {
            Some(p) => std::fs::write(p, src).map_err(|e| format!("writing {}: {e}", p.display())),
            None => {
                print!("{src}");
                Ok(())
            }
        });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oxbpf: gen skeleton: {e}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Object(ObjectCmd::Check {
            json,
            attach,
            objects,
        }) => object::run(&objects, json, attach),
        Command::Prog(cmd) => list(kernel_objects::Kind::Prog, cmd),
        Command::Map(cmd) => list(kernel_objects::Kind::Map, cmd),
        Command::Link(cmd) => list(kernel_objects::Kind::Link, cmd),
        Command::Btf(cmd) => match btf::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("oxbpf: {e:#}");
                ExitCode::from(1)
            }
        },
        Command::Gen(GenCmd::Headers { dir }) => gen_headers(&dir),
        Command::Gen(GenCmd::Skeleton { obj, name, out }) => gen_skeleton(&obj, name, out),
    }
}
