//! The matrix report: per kernel `N passed, N failed, N skipped`, then every test whose outcome
//! differs between kernels (a feature an older kernel lacks shows up as SKIP with its reason).

use std::collections::BTreeMap;
use std::time::Duration;

use super::libtest::Outcome;
use super::util::secs;

/// The outcome of every test on one kernel.
pub struct KernelReport {
    series: String,
    uname: String,
    tests: Vec<(String, Outcome)>,
    prepare: Duration,
    vm: Duration,
}

impl KernelReport {
    /// Collects one kernel's results.
    pub fn new(
        series: &str,
        uname: &str,
        tests: Vec<(String, Outcome)>,
        prepare: Duration,
        vm: Duration,
    ) -> KernelReport {
        KernelReport {
            series: series.into(),
            uname: uname.into(),
            tests,
            prepare,
            vm,
        }
    }

    fn count(&self, f: fn(&Outcome) -> bool) -> usize {
        self.tests.iter().filter(|t| f(&t.1)).count()
    }

    /// Failed tests (including crashed or timed-out binaries).
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed(_)))
    }

    fn counts(&self) -> String {
        let ignored = self.count(|o| matches!(o, Outcome::Ignored));
        format!(
            "{} passed, {} failed, {} skipped{}",
            self.count(|o| matches!(o, Outcome::Passed)),
            self.failed(),
            self.count(|o| matches!(o, Outcome::Skipped(_))),
            if ignored > 0 {
                format!(", {ignored} ignored")
            } else {
                String::new()
            }
        )
    }

    /// The kernel's line and its failures, as one block (kernels may finish concurrently).
    pub fn summary(&self) -> String {
        let mut out = format!(
            "vmtest: kernel {} (uname -r {}): {}  [prepare {}, VM {}]\n",
            self.series,
            self.uname,
            self.counts(),
            secs(self.prepare),
            secs(self.vm)
        );
        for (name, o) in &self.tests {
            if let Outcome::Failed(text) = o {
                out.push_str(&format!("  FAILED {name}\n"));
                // The backtrace (RUST_BACKTRACE is passed through) stays in the guest output.
                let text = text.split("\nstack backtrace:").next().unwrap_or(text);
                for l in text.lines().take(30) {
                    out.push_str(&format!("    {}\n", clip(l, 400)));
                }
            }
        }
        out
    }
}

/// Prints the per-kernel totals and the tests whose outcome is not the same on every kernel.
pub fn print_matrix(reports: &[KernelReport]) {
    if reports.is_empty() {
        return;
    }
    println!("\nvmtest matrix:");
    for r in reports {
        println!("  {:<5} {:<24} {}", r.series, r.uname, r.counts());
    }
    let mut by_test: BTreeMap<&str, Vec<Option<&Outcome>>> = BTreeMap::new();
    for (i, r) in reports.iter().enumerate() {
        for (name, o) in &r.tests {
            let row = by_test
                .entry(name.as_str())
                .or_insert_with(|| vec![None; reports.len()]);
            row[i] = Some(o);
        }
    }
    let differing: Vec<_> = by_test
        .iter()
        .filter(|(_, row)| {
            let words: Vec<&str> = row.iter().map(|o| o.map_or("-", |o| o.word())).collect();
            words.iter().any(|w| *w != words[0])
        })
        .collect();
    if reports.len() > 1 {
        if differing.is_empty() {
            println!("  every test has the same outcome on every kernel");
        } else {
            println!("  tests that differ between kernels:");
        }
    }
    if reports.len() > 1 {
        for (name, row) in differing {
            println!("    {name}");
            for (r, o) in reports.iter().zip(row) {
                let detail = match o {
                    Some(Outcome::Skipped(why)) => format!("SKIP: {why}"),
                    Some(Outcome::Failed(text)) => format!("FAILED: {}", headline(text)),
                    Some(o) => o.word().to_string(),
                    None => "not run".to_string(),
                };
                println!("      {:<5} {detail}", r.series);
            }
        }
    }
    // Skips with their reasons, per kernel, so a reader sees what each kernel lacks.
    for r in reports {
        let skips: Vec<_> = r
            .tests
            .iter()
            .filter_map(|(n, o)| match o {
                Outcome::Skipped(why) => Some((n, why)),
                _ => None,
            })
            .collect();
        if !skips.is_empty() {
            println!("  skipped on {}:", r.series);
            for (n, why) in skips {
                println!("    {n}: {why}");
            }
        }
    }
}

/// The line that says why a test failed: the panic message (the line after `panicked at`), else
/// the last line that is not a backtrace note.
fn headline(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let after_panic = lines
        .iter()
        .position(|l| l.contains("panicked at"))
        .and_then(|i| lines[i + 1..].iter().find(|l| !l.trim().is_empty()));
    let line = after_panic.or_else(|| {
        lines
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.starts_with("note:") && !l.starts_with(' '))
    });
    clip(line.map_or("", |l| l.trim()), 160)
}

/// At most `max` characters of `s`.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_is_the_panic_message() {
        let text = "log line\nthread 't' (7) panicked at tests/a.rs:3:5:\nassertion failed: x\nstack backtrace:\n   0: f\nnote: Some details are omitted";
        assert_eq!(headline(text), "assertion failed: x");
        assert_eq!(headline("exited with status 139"), "exited with status 139");
        assert_eq!(clip("abcdef", 3), "abc…");
    }
}
