//! The `essaim` command line: it wires the domain, the solver and the store together. Business rules live
//! in the library crates; this crate parses arguments, reads files, prints results and maps failures to
//! exit codes (0 success, 2 bad input, 1 anything else).

/// A [`BadInput`] error (exit code 2) with a `format!` message:
/// `return Err(bad_input!("{name}: not UTF-8 text"))`, `.ok_or_else(|| bad_input!("--buyer: {e}"))?`.
macro_rules! bad_input {
    ($($message:tt)+) => {
        ::anyhow::Error::new($crate::BadInput(format!($($message)+)))
    };
}

pub mod allocation;
pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_campaign;
pub mod http;
/// The reader of directories and tenders, shared with the API.
pub use essaim_import as import;
pub mod import_sources;
pub mod render;
pub mod serve;

use std::fmt;

/// A failure caused by what the user gave (file, argument, configuration): exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Exit code for an error: 2 when the input was wrong, 1 otherwise.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(|e| e.downcast_ref::<BadInput>().is_some()) { 2 } else { 1 }
}
