//! End-to-end tests of the whole `essaim` binary: each test starts the real executable (built by
//! [`support::essaim_bin`]) on a fresh database, SQLite always and PostgreSQL too when
//! `ESSAIM_TEST_POSTGRES_URL` is set, against the fake Telegram and Discord servers and a real SMTP server.
//!
//! One test binary, one module per suite: `cargo test -p essaim-e2e -- crash::` runs only the crash test.

mod cli;
mod crash;
mod crash_mail;
mod discord;
mod ops;
mod proposal;
mod replicas;
mod support;
mod telegram;
mod territory;

// aiosmtpd driven from Rust, shared with essaim-mail's own tests.
#[path = "../crates/essaim-mail/tests/common/smtp_server.rs"]
mod smtp_server;
