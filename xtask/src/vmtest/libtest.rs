//! Reading libtest's output (the default "pretty" format, run with `--show-output`) into one outcome
//! per test. A test that passed but printed a `SKIP: reason` line (`oxbpf_tests::skip`) counts as
//! skipped, with its reason.

use std::collections::BTreeMap;

/// What happened to one test.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It ran and passed.
    Passed,
    /// It failed (or its binary crashed or timed out); the text says how, when known.
    Failed(String),
    /// It returned early because the kernel refused a feature; the reason it printed.
    Skipped(String),
    /// `#[ignore]`d.
    Ignored,
}

impl Outcome {
    /// A short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Passed => "ok",
            Outcome::Failed(_) => "FAILED",
            Outcome::Skipped(_) => "SKIP",
            Outcome::Ignored => "ignored",
        }
    }
}

/// A `test NAME ... RESULT` line, as (name, result).
pub fn result_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.rsplit_once(" ... ")?;
    let name = name.strip_suffix(" - should panic").unwrap_or(name);
    let ok = result == "ok" || result == "FAILED" || result.starts_with("ignored");
    ok.then_some((name, result))
}

/// Every test of one binary's output, in the order they ran, plus whether libtest's final
/// `test result:` line was seen (it is missing when the binary crashed or was killed).
pub fn parse(output: &str) -> (Vec<(String, Outcome)>, bool) {
    let mut order: Vec<String> = Vec::new();
    let mut results: BTreeMap<String, &str> = BTreeMap::new();
    let mut skips: BTreeMap<String, String> = BTreeMap::new();
    let mut failure_text: BTreeMap<String, String> = BTreeMap::new();
    let mut section: Option<String> = None;
    let mut finished = false;
    for line in output.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            section = Some(name.to_string());
            continue;
        }
        if line == "successes:" || line == "failures:" || line.starts_with("test result: ") {
            section = None;
        }
        if line.starts_with("test result: ") {
            finished = true;
        }
        if let Some(name) = &section {
            if let Some(reason) = line.trim_start().strip_prefix("SKIP:") {
                skips
                    .entry(name.clone())
                    .or_insert_with(|| reason.trim().to_string());
            }
            let text = failure_text.entry(name.clone()).or_default();
            if text.len() < 2000 {
                text.push_str(line);
                text.push('\n');
            }
            continue;
        }
        if let Some((name, result)) = result_line(line) {
            if !results.contains_key(name) {
                order.push(name.to_string());
            }
            results.insert(name.to_string(), result);
        }
    }
    let tests = order
        .into_iter()
        .map(|name| {
            let outcome = match results[&name] {
                "ok" => match skips.get(&name) {
                    Some(reason) => Outcome::Skipped(reason.clone()),
                    None => Outcome::Passed,
                },
                "FAILED" => Outcome::Failed(
                    failure_text
                        .get(&name)
                        .map(|t| t.trim().to_string())
                        .unwrap_or_default(),
                ),
                _ => Outcome::Ignored,
            };
            (name, outcome)
        })
        .collect();
    (tests, finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
running 4 tests
test a::one ... ok
test a::two ... ok
test b::three ... FAILED
test b::four ... ignored, waiting on issue 6
test c::five - should panic ... ok

successes:

---- a::two stdout ----
SKIP: kprobe_multi needs CONFIG_FPROBE

---- a::one stdout ----
loaded


successes:
    a::one
    a::two

failures:

---- b::three stdout ----
thread 'b::three' panicked at tests/x.rs:3:5:
assertion failed


failures:
    b::three

test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
";

    #[test]
    fn reads_outcomes_and_skip_reasons() {
        let (tests, finished) = parse(SAMPLE);
        assert!(finished);
        assert_eq!(tests.len(), 5);
        assert_eq!(tests[0], ("a::one".into(), Outcome::Passed));
        assert_eq!(
            tests[1],
            (
                "a::two".into(),
                Outcome::Skipped("kprobe_multi needs CONFIG_FPROBE".into())
            )
        );
        match &tests[2].1 {
            Outcome::Failed(text) => assert!(text.contains("assertion failed"), "{text}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(tests[3].1, Outcome::Ignored);
        assert_eq!(tests[4], ("c::five".into(), Outcome::Passed));
    }

    #[test]
    fn a_crash_leaves_no_summary() {
        let (tests, finished) = parse("running 1 test\ntest a ... ");
        assert!(!finished);
        assert!(tests.is_empty());
    }
}
