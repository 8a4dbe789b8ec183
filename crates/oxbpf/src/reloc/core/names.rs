//! Essential names: a CO-RE type or field name without its `___flavor` suffix.
//!
//! `task_struct___old` and `task_struct` both have the essential name `task_struct`, so a BPF
//! program can describe several incompatible layouts of one kernel type and let the target decide.

/// True when `s` starts with `X___Y` where `X` and `Y` are not underscores.
fn is_flavor_sep(s: &[u8]) -> bool {
    s.len() >= 5 && s[0] != b'_' && &s[1..4] == b"___" && s[4] != b'_'
}

/// The length of `name`'s essential part: everything before the last `___` that separates two
/// non-underscore characters (libbpf's `bpf_core_essential_name_len`).
pub fn essential_name_len(name: &str) -> usize {
    let b = name.as_bytes();
    let n = b.len();
    if n < 5 {
        return n;
    }
    (0..=n - 5)
        .rev()
        .find(|&i| is_flavor_sep(&b[i..]))
        .map_or(n, |i| i + 1)
}

/// `name` without its flavor suffix.
pub fn essential_name(name: &str) -> &str {
    &name[..essential_name_len(name)]
}

/// True when two names have the same essential name (libbpf compares these lengths, then bytes).
pub fn essential_names_equal(a: &str, b: &str) -> bool {
    essential_name(a) == essential_name(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_last_flavor_only() {
        assert_eq!(essential_name("task_struct___old"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("x___"), "x___");
        assert_eq!(essential_name("____x"), "____x");
        assert_eq!(essential_name("a____b"), "a____b");
        assert_eq!(essential_name("a___1"), "a");
        assert_eq!(essential_name(""), "");
        assert_eq!(essential_name("a___b"), "a");
    }
}
