//! `gen-helper-defs`: turns the helper documentation of the kernel UAPI `include/uapi/linux/bpf.h` into
//! `bpf_helper_defs.h`, one `static const` function pointer per helper id, each preceded by its doc text.
//!
//! The UAPI carries two facts per helper: its id (the `FN(name, id, ...)` rows of `___BPF_FUNC_MAPPER`)
//! and its documented prototype with `Description` and `Return` paragraphs (the comment block that starts
//! at "Start of BPF helper function descriptions"). The prototype is written in kernel types; BPF programs
//! see a few of them under other names (the context structs, `struct bpf_map *` as `void *`, `u32` as
//! `__u32`), and those renames are the only editorial step. The output is committed; nothing here runs at
//! build time.

use std::fmt::Write as _;
use std::path::PathBuf;

/// Kernel type spelling → the spelling BPF programs compile against.
const TYPE_RENAMES: &[(&str, &str)] = &[
    ("u8", "__u8"),
    ("u16", "__u16"),
    ("u32", "__u32"),
    ("u64", "__u64"),
    ("s8", "__s8"),
    ("s16", "__s16"),
    ("s32", "__s32"),
    ("s64", "__s64"),
    ("size_t", "unsigned long"),
    ("struct bpf_map", "void"),
    ("struct sk_buff", "struct __sk_buff"),
    ("struct sk_msg_buff", "struct sk_msg_md"),
    ("struct xdp_buff", "struct xdp_md"),
];

/// Helpers the kernel inlines or calls without clobbering caller-saved registers; clang's `bpf_fastcall`
/// attribute lets it keep values live in r1-r5 across the call.
const FASTCALL: &[&str] = &["bpf_get_smp_processor_id"];

struct Options {
    uapi: PathBuf,
    input_version: String,
    out: PathBuf,
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut uapi = None;
    let mut input_version = None;
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--uapi" => uapi = Some(PathBuf::from(value()?)),
            "--input-version" => input_version = Some(value()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = out.unwrap_or_else(|| root.join("crates/oxbpf-gen/include/bpf/bpf_helper_defs.h"));
    let (uapi, guessed_version) = match uapi {
        Some(p) => (p, None),
        None => {
            let (p, v) = bundled_uapi()?;
            (p, Some(v))
        }
    };
    let input_version = input_version.or(guessed_version).ok_or(
        "--input-version is required with --uapi (e.g. \"linux-source-6.12 6.12.117-1~deb12u1\")",
    )?;
    Ok(Options {
        uapi,
        input_version,
        out,
    })
}

/// The UAPI header libbpf-sys 1.7.0 bundles (libbpf v1.7.0's sync of the kernel UAPI), with a description
/// of where it comes from.
fn bundled_uapi() -> Result<(PathBuf, String), String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let src = home.join("registry/src");
    let registries =
        std::fs::read_dir(&src).map_err(|e| format!("reading {}: {e}", src.display()))?;
    for reg in registries.flatten() {
        let libbpf = reg.path().join("libbpf-sys-1.7.0+v1.7.0/libbpf");
        let uapi = libbpf.join("include/uapi/linux/bpf.h");
        if uapi.exists() {
            let checkpoint =
                std::fs::read_to_string(libbpf.join("BPF-CHECKPOINT-COMMIT")).unwrap_or_default();
            let version = format!(
                "libbpf-sys 1.7.0+v1.7.0: libbpf v1.7.0's copy of include/uapi/linux/bpf.h \
                 (synced from bpf-next commit {})",
                checkpoint.trim()
            );
            return Ok((uapi, version));
        }
    }
    Err(format!(
        "libbpf-sys 1.7.0 not found under {}; pass --uapi",
        src.display()
    ))
}

/// One documentation entry: a prototype with its paragraphs.
struct Entry {
    proto: String,
    description: Vec<String>,
    ret: Vec<String>,
}

/// Every documentation entry of one helper: more than one when it accepts several context types.
struct Doc {
    entries: Vec<Entry>,
}

/// A parsed C declaration: return type, name and parameters (`(type, name)`; `...` has an empty name).
struct Proto {
    ret: String,
    name: String,
    params: Vec<(String, String)>,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let opts = parse_options(args)?;
    let text = std::fs::read_to_string(&opts.uapi)
        .map_err(|e| format!("reading {}: {e}", opts.uapi.display()))?;
    let ids = helper_ids(&text)?;
    let docs = helper_docs(&text)?;
    let out = render(&ids, &docs, &opts)?;
    std::fs::write(&opts.out, out).map_err(|e| format!("writing {}: {e}", opts.out.display()))?;
    eprintln!("wrote {} helpers to {}", ids.len(), opts.out.display());
    Ok(())
}

/// `(bpf_name, id)` for every helper of `___BPF_FUNC_MAPPER` except `unspec` (id 0), in id order.
fn helper_ids(text: &str) -> Result<Vec<(String, u32)>, String> {
    let start = text
        .find("#define ___BPF_FUNC_MAPPER(")
        .ok_or("no ___BPF_FUNC_MAPPER in the UAPI header")?;
    let mut ids = Vec::new();
    for line in text[start..].lines().skip(1) {
        let line = line.trim();
        let Some(row) = line.strip_prefix("FN(") else {
            if line.is_empty() || !line.ends_with('\\') {
                break;
            }
            continue;
        };
        let mut parts = row.split(',').map(str::trim);
        let name = parts
            .next()
            .ok_or_else(|| format!("bad mapper row {line:?}"))?;
        let id: u32 = parts
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("mapper row {line:?} has no numeric id"))?;
        if id != 0 {
            ids.push((format!("bpf_{name}"), id));
        }
    }
    if ids.is_empty() {
        return Err("___BPF_FUNC_MAPPER lists no helpers".into());
    }
    for (i, (name, id)) in ids.iter().enumerate() {
        if *id as usize != i + 1 {
            return Err(format!(
                "helper ids are not dense: {name} has id {id}, expected {}",
                i + 1
            ));
        }
    }
    Ok(ids)
}

/// The documentation entries, keyed by helper name in order of first appearance.
fn helper_docs(text: &str) -> Result<Vec<(String, Doc)>, String> {
    let marker = "Start of BPF helper function descriptions:";
    let start = text
        .find(marker)
        .ok_or("no helper description block in the UAPI header")?;
    let mut docs: Vec<(String, Doc)> = Vec::new();
    let mut current: Option<usize> = None;
    // Which paragraph of the current entry we are in: 0 = none yet, 1 = Description, 2 = Return.
    let mut part = 0;
    for line in text[start + marker.len()..].lines().skip(1) {
        if line.trim_start().starts_with("*/") {
            break;
        }
        let body = line
            .strip_prefix(" *")
            .ok_or_else(|| format!("unexpected line in helper docs: {line:?}"))?;
        let body = body.strip_prefix(' ').unwrap_or(body);
        if body.starts_with(|c: char| !c.is_whitespace()) {
            let p = parse_proto(body)?;
            let entry = Entry {
                proto: body.trim().to_string(),
                description: vec![],
                ret: vec![],
            };
            part = 0;
            let i = match docs.iter().position(|d| d.0 == p.name) {
                Some(i) => i,
                None => {
                    docs.push((p.name, Doc { entries: vec![] }));
                    docs.len() - 1
                }
            };
            docs[i].1.entries.push(entry);
            current = Some(i);
            continue;
        }
        let Some(entry) = current.and_then(|i| docs[i].1.entries.last_mut()) else {
            continue;
        };
        // Indentation is a tab per level in most entries and eight spaces in a few: count columns.
        let text = body.trim_start();
        let col = body[..body.len() - text.len()]
            .chars()
            .fold(
                0usize,
                |c, ch| if ch == '\t' { (c / 8 + 1) * 8 } else { c + 1 },
            );
        match text.trim_end() {
            "Description" if col <= 8 => part = 1,
            "Return" if col <= 8 => part = 2,
            t => {
                let extra = col.saturating_sub(16);
                let line = if t.is_empty() {
                    String::new()
                } else {
                    format!("{}{}{t}", "\t".repeat(extra / 8), " ".repeat(extra % 8))
                };
                match part {
                    1 => entry.description.push(line),
                    2 => entry.ret.push(line),
                    _ => {}
                }
            }
        }
    }
    for d in &mut docs {
        for e in &mut d.1.entries {
            trim_blank(&mut e.description);
            trim_blank(&mut e.ret);
        }
    }
    Ok(docs)
}

fn trim_blank(lines: &mut Vec<String>) {
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
}

fn parse_proto(s: &str) -> Result<Proto, String> {
    let s = s.trim();
    let open = s
        .find('(')
        .ok_or_else(|| format!("prototype without '(': {s:?}"))?;
    let close = s
        .rfind(')')
        .ok_or_else(|| format!("prototype without ')': {s:?}"))?;
    let (ret, name) =
        split_decl(&s[..open]).ok_or_else(|| format!("cannot split name in {s:?}"))?;
    let mut params = Vec::new();
    let inner = s[open + 1..close].trim();
    if !inner.is_empty() && inner != "void" {
        for p in inner.split(',') {
            let p = p.trim();
            if p == "..." {
                params.push(("...".to_string(), String::new()));
            } else {
                params.push(
                    split_decl(p)
                        .ok_or_else(|| format!("cannot parse parameter {p:?} of {s:?}"))?,
                );
            }
        }
    }
    Ok(Proto { ret, name, params })
}

/// Splits `const void *key` into (`const void *`, `key`).
fn split_decl(s: &str) -> Option<(String, String)> {
    let s = s.trim();
    let name_start = s
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let name = &s[name_start..];
    let ty = s[..name_start].trim();
    if name.is_empty() || ty.is_empty() {
        return None;
    }
    Some((ty.to_string(), name.to_string()))
}

/// Renames a kernel type to its BPF-program spelling, keeping `const` and pointer stars.
fn map_type(ty: &str) -> String {
    let stars = ty
        .chars()
        .rev()
        .take_while(|c| *c == '*' || c.is_whitespace())
        .filter(|c| *c == '*')
        .count();
    let base = ty.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
    let (konst, base) = match base.strip_prefix("const ") {
        Some(b) => ("const ", b.trim()),
        None => ("", base),
    };
    let base = TYPE_RENAMES
        .iter()
        .find(|(from, _)| *from == base)
        .map_or(base, |(_, to)| to);
    let mut out = format!("{konst}{base}");
    if stars > 0 {
        out.push(' ');
        out.push_str(&"*".repeat(stars));
    }
    out
}

/// `type name` with the star hugging the name, as C is usually written.
fn join_decl(ty: &str, name: &str) -> String {
    if ty.ends_with('*') {
        format!("{ty}{name}")
    } else {
        format!("{ty} {name}")
    }
}

fn render(ids: &[(String, u32)], docs: &[(String, Doc)], opts: &Options) -> Result<String, String> {
    let mut body = String::new();
    let mut structs: Vec<String> = Vec::new();
    for (name, id) in ids {
        let (_, doc) = docs
            .iter()
            .find(|d| &d.0 == name)
            .ok_or_else(|| format!("helper {name} (id {id}) has no documentation entry"))?;
        let first = doc
            .entries
            .first()
            .ok_or_else(|| format!("helper {name} has no entries"))?;
        let proto = parse_proto(&first.proto)?;
        let overloaded = doc.entries.len() > 1;
        let ret = map_type(&proto.ret);
        let mut params: Vec<String> = Vec::new();
        for (i, (ty, pname)) in proto.params.iter().enumerate() {
            if ty == "..." {
                params.push("...".into());
            } else if i == 0 && overloaded {
                // One helper, several context types: programs pass whichever they have.
                params.push("void *ctx".into());
            } else {
                params.push(join_decl(&map_type(ty), pname));
            }
        }
        for t in std::iter::once(&ret).chain(params.iter()) {
            if let Some(rest) = t.trim_start_matches("const ").strip_prefix("struct ") {
                let sname: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !structs.contains(&sname) {
                    structs.push(sname);
                }
            }
        }

        let _ = writeln!(body, "/*\n * {name}: helper {id}");
        for e in &doc.entries {
            let _ = writeln!(body, " *\n *   {}\n *\n * Description:", e.proto);
            for l in &e.description {
                push_doc_line(&mut body, l);
            }
            let _ = writeln!(body, " *\n * Return:");
            for l in &e.ret {
                push_doc_line(&mut body, l);
            }
        }
        let _ = writeln!(body, " */");
        let attr = if FASTCALL.contains(&name.as_str()) {
            "__bpf_fastcall "
        } else {
            ""
        };
        let params = if params.is_empty() {
            "void".to_string()
        } else {
            params.join(", ")
        };
        let lead = if ret.ends_with('*') {
            ret.clone()
        } else {
            format!("{ret} ")
        };
        let _ = writeln!(
            body,
            "static {attr}{lead}(* const {name})({params}) = (void *) {id};\n"
        );
    }

    let mut out = String::new();
    let _ = writeln!(
        out,
        "/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */\n\
         /* (the helper documentation below is the Linux UAPI header's text) */\n\
         /*\n\
         \x20* GENERATED FILE, do not edit: run `cargo xtask gen-helper-defs` instead.\n\
         \x20*\n\
         \x20* Generator: oxbpf xtask gen-helper-defs (xtask/src/helper_defs.rs)\n\
         \x20* Input:     {}\n\
         \x20* Helpers:   {} (ids 1..={})\n\
         \x20*\n\
         \x20* Every BPF helper as a constant function pointer whose value is the helper id: calling it makes\n\
         \x20* clang emit `call <id>`. The doc text is the kernel's own, from the UAPI header.\n\
         \x20*/\n\
         #ifndef __OXBPF_HELPER_DEFS_H__\n\
         #define __OXBPF_HELPER_DEFS_H__\n",
        opts.input_version,
        ids.len(),
        ids.last().map_or(0, |i| i.1),
    );
    let _ = writeln!(
        out,
        "/* Structs the prototypes name; their layout comes from vmlinux.h or the UAPI. */"
    );
    for s in &structs {
        let _ = writeln!(out, "struct {s};");
    }
    let _ = writeln!(
        out,
        "\n/* Helpers the kernel calls without clobbering r1-r5 (clang 19+ understands the attribute). */\n\
         #ifndef __bpf_fastcall\n\
         #if __has_attribute(bpf_fastcall)\n\
         #define __bpf_fastcall __attribute__((bpf_fastcall))\n\
         #else\n\
         #define __bpf_fastcall\n\
         #endif\n\
         #endif\n"
    );
    out.push_str(&body);
    out.push_str("#endif /* __OXBPF_HELPER_DEFS_H__ */\n");
    Ok(out)
}

fn push_doc_line(out: &mut String, line: &str) {
    // Keep the text inside the comment: a stray "*/" in the docs would end it early.
    let line = line.replace("*/", "*\\/");
    if line.is_empty() {
        out.push_str(" *\n");
    } else {
        let _ = writeln!(out, " *\t{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prototypes_are_split_into_types_and_names() {
        let p =
            parse_proto("void *bpf_map_lookup_elem(struct bpf_map *map, const void *key)").unwrap();
        assert_eq!(p.name, "bpf_map_lookup_elem");
        assert_eq!(p.ret, "void *");
        assert_eq!(
            p.params,
            vec![
                ("struct bpf_map *".to_string(), "map".to_string()),
                ("const void *".to_string(), "key".to_string())
            ]
        );
        let p = parse_proto("long bpf_trace_printk(const char *fmt, u32 fmt_size, ...)").unwrap();
        assert_eq!(p.params.last().unwrap().0, "...");
        assert!(parse_proto("u64 bpf_ktime_get_ns(void)")
            .unwrap()
            .params
            .is_empty());
        assert!(parse_proto("no parenthesis").is_err());
    }

    #[test]
    fn kernel_types_become_program_types() {
        assert_eq!(map_type("struct bpf_map *"), "void *");
        assert_eq!(
            map_type("const struct sk_buff *"),
            "const struct __sk_buff *"
        );
        assert_eq!(map_type("u32"), "__u32");
        assert_eq!(map_type("size_t"), "unsigned long");
        assert_eq!(map_type("char **"), "char **");
        assert_eq!(join_decl("void *", "ctx"), "void *ctx");
        assert_eq!(join_decl("__u64", "flags"), "__u64 flags");
    }

    const UAPI: &str = "\
/*
 * Start of BPF helper function descriptions:
 *
 * long bpf_one(struct sk_buff *skb, u64 flags)
 * \tDescription
 * \t\tFirst line.
 *
 * \t\t\tIndented.
 * \tReturn
 * \t\t0 on success.
 *
 * long bpf_one(struct xdp_buff *xdp, u64 flags)
 *         Description
 *                 Spaces instead of tabs.
 *         Return
 *                 Same.
 *
 * void *bpf_two(void)
 * \tDescription
 * \t\tSecond.
 * \tReturn
 * \t\tA pointer.
 */
#define ___BPF_FUNC_MAPPER(FN, ctx...)\t\t\\
\tFN(unspec, 0, ##ctx)\t\t\t\\
\tFN(one, 1, ##ctx)\t\t\t\\
\tFN(two, 2, ##ctx)\t\t\t\\
\t/* */
";

    #[test]
    fn renders_every_helper_with_docs_and_overloads() {
        let ids = helper_ids(UAPI).unwrap();
        assert_eq!(
            ids,
            vec![("bpf_one".to_string(), 1), ("bpf_two".to_string(), 2)]
        );
        let docs = helper_docs(UAPI).unwrap();
        assert_eq!(docs[0].1.entries.len(), 2);
        assert_eq!(
            docs[0].1.entries[0].description,
            vec!["First line.", "", "\tIndented."]
        );
        assert_eq!(
            docs[0].1.entries[1].description,
            vec!["Spaces instead of tabs."]
        );
        let opts = Options {
            uapi: PathBuf::new(),
            input_version: "test input".into(),
            out: PathBuf::new(),
        };
        let out = render(&ids, &docs, &opts).unwrap();
        assert!(
            out.contains("static long (* const bpf_one)(void *ctx, __u64 flags) = (void *) 1;"),
            "{out}"
        );
        assert!(
            out.contains("static void *(* const bpf_two)(void) = (void *) 2;"),
            "{out}"
        );
        assert!(out.contains("Input:     test input"));
        assert!(
            !out.contains("struct __sk_buff;"),
            "only types of the rendered prototypes"
        );
    }

    #[test]
    fn a_helper_without_docs_is_an_error() {
        let uapi = UAPI.replace(" * void *bpf_two(void)", " * void *bpf_other(void)");
        let ids = helper_ids(&uapi).unwrap();
        let docs = helper_docs(&uapi).unwrap();
        let opts = Options {
            uapi: PathBuf::new(),
            input_version: String::new(),
            out: PathBuf::new(),
        };
        let err = render(&ids, &docs, &opts).unwrap_err();
        assert!(err.contains("bpf_two (id 2) has no documentation"), "{err}");
    }
}
