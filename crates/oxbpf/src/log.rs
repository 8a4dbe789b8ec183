//! Logging: libbpf's print levels, `LIBBPF_LOG_LEVEL`, a print callback and a bridge to the `log` crate.
//!
//! By default, as libbpf does, warnings and info messages go to stderr prefixed with `oxbpf: `, and
//! debug messages too when `LIBBPF_LOG_LEVEL=debug` (`warn` keeps only warnings). [`set_print`]
//! replaces the printer (or silences it with `None`); [`log_bridge`] is a printer that forwards
//! every message to the `log` crate under the target `oxbpf`.

use std::fmt;
use std::io::Write;
use std::sync::{Arc, OnceLock, RwLock};

/// How important a message is (libbpf's `enum libbpf_print_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrintLevel {
    /// Something failed or will fail.
    Warn,
    /// Noteworthy but expected (skipped sections, fallbacks).
    Info,
    /// Step-by-step detail of open and load.
    Debug,
}

/// A printer: gets every message with its level.
pub type PrintFn = Arc<dyn Fn(PrintLevel, &str) + Send + Sync>;

enum Printer {
    Default,
    Custom(PrintFn),
    Silent,
}

static PRINTER: RwLock<Printer> = RwLock::new(Printer::Default);

/// The level `LIBBPF_LOG_LEVEL` asks for (`warn`, `info` or `debug`, case-insensitive); `Info` when
/// unset. Read once per process.
pub fn env_level() -> PrintLevel {
    static LEVEL: OnceLock<PrintLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| match std::env::var("LIBBPF_LOG_LEVEL") {
        Err(_) => PrintLevel::Info,
        Ok(v) => match v.to_ascii_lowercase().as_str() {
            "warn" => PrintLevel::Warn,
            "info" => PrintLevel::Info,
            "debug" => PrintLevel::Debug,
            _ => {
                eprintln!(
                    "oxbpf: unrecognized 'LIBBPF_LOG_LEVEL' envvar value: '{v}', should be one of 'warn', 'debug', or 'info'."
                );
                PrintLevel::Info
            }
        },
    })
}

/// Replaces the printer; `None` silences oxbpf. Returns nothing: use [`reset_print`] to go back to the default.
pub fn set_print(print: Option<PrintFn>) {
    let new = match print {
        Some(f) => Printer::Custom(f),
        None => Printer::Silent,
    };
    if let Ok(mut p) = PRINTER.write() {
        *p = new;
    }
}

/// Restores the default printer (stderr, filtered by `LIBBPF_LOG_LEVEL`).
pub fn reset_print() {
    if let Ok(mut p) = PRINTER.write() {
        *p = Printer::Default;
    }
}

/// A printer that forwards to the `log` crate (target `oxbpf`): Warn → `warn!`, Info → `info!`,
/// Debug → `debug!`. Install it with `set_print(Some(oxbpf::log::log_bridge()))`.
pub fn log_bridge() -> PrintFn {
    Arc::new(|level, msg| {
        let lvl = match level {
            PrintLevel::Warn => ::log::Level::Warn,
            PrintLevel::Info => ::log::Level::Info,
            PrintLevel::Debug => ::log::Level::Debug,
        };
        ::log::log!(target: "oxbpf", lvl, "{msg}");
    })
}

/// Prints one message at `level` through the current printer.
pub fn print(level: PrintLevel, args: fmt::Arguments<'_>) {
    let Ok(p) = PRINTER.read() else { return };
    match &*p {
        Printer::Silent => {}
        Printer::Custom(f) => f(level, &args.to_string()),
        Printer::Default => {
            if level <= env_level() {
                // Like libbpf's fprintf(stderr): a closed or full stderr loses the message, it
                // must not panic the caller (eprintln! would; the object_open fuzzer hit it).
                let _ = writeln!(std::io::stderr().lock(), "oxbpf: {args}");
            }
        }
    }
}

/// Prints a warning.
pub fn warn(args: fmt::Arguments<'_>) {
    print(PrintLevel::Warn, args)
}

/// Prints an info message.
pub fn info(args: fmt::Arguments<'_>) {
    print(PrintLevel::Info, args)
}

/// Prints a debug message.
pub fn debug(args: fmt::Arguments<'_>) {
    print(PrintLevel::Debug, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn custom_printer_gets_messages() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        set_print(Some(Arc::new(move |l, m: &str| {
            s.lock().unwrap().push((l, m.to_string()))
        })));
        warn(format_args!("map '{}' failed", "x"));
        debug(format_args!("detail"));
        reset_print();
        let seen = seen.lock().unwrap();
        assert!(seen.contains(&(PrintLevel::Warn, "map 'x' failed".into())));
        assert!(seen.contains(&(PrintLevel::Debug, "detail".into())));
    }
}
