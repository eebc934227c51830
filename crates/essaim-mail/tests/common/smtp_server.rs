//! A real SMTP server for tests: aiosmtpd (PyPI) on a free loopback port, writing every mail it accepts
//! into a maildir, and the mails read back as a mail client shows them (mailparse). Shared by the
//! e-mail channel's tests and the crash test of the `essaim` binary (`#[path]`-included there).
//!
//! Without aiosmtpd, [`SmtpServer::start`] says so and returns `None` (the test passes), unless
//! `ESSAIM_TEST_REQUIRE_SMTP=1` (CI sets it) makes its absence a failure.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// aiosmtpd on a free loopback port, writing every mail it accepts into a maildir.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: tempfile::TempDir,
    seen: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

impl SmtpServer {
    pub fn start() -> Option<Self> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var("ESSAIM_TEST_REQUIRE_SMTP").as_deref() != Ok("1"),
                "ESSAIM_TEST_REQUIRE_SMTP=1 but aiosmtpd is not installed (pip install aiosmtpd)"
            );
            eprintln!("skipped: aiosmtpd is not installed (pip install aiosmtpd)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let maildir = tempfile::tempdir().expect("maildir");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir(maildir.path().join(sub)).expect("maildir folder");
        }
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path())
            .stdout(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = Self { child, port, maildir, seen: Default::default() };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aiosmtpd did not listen on port {port}");
    }

    /// The mails received since the last call, parsed (a maildir's file names do not sort by time).
    pub fn new_mails(&self) -> Vec<Mail> {
        let dir: PathBuf = self.maildir.path().join("new");
        let files: Vec<PathBuf> =
            std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        let mut seen = self.seen.lock().expect("seen");
        files.iter().filter(|f| seen.insert((*f).clone())).map(|f| Mail::read(f)).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A received mail as a mail client shows it.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
    /// File name, type and decoded bytes of each attached file.
    pub attachments: Vec<(String, String, Vec<u8>)>,
    pub headers: Vec<(String, String)>,
}

impl Mail {
    pub fn read(path: &Path) -> Self {
        let raw = std::fs::read(path).expect("mail file");
        let parsed = mailparse::parse_mail(&raw).expect("a well-formed mail");
        let header =
            |name: &str| parsed.headers.iter().find(|h| h.get_key().eq_ignore_ascii_case(name)).map(|h| h.get_value());
        let mut text = String::new();
        let mut html = String::new();
        let mut attachments = Vec::new();
        for part in parsed.parts() {
            let disposition = part.get_content_disposition();
            if disposition.disposition == mailparse::DispositionType::Attachment {
                let name = disposition.params.get("filename").cloned().unwrap_or_default();
                attachments.push((name, part.ctype.mimetype.clone(), part.get_body_raw().expect("attachment")));
                continue;
            }
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = part.get_body().expect("text body"),
                "text/html" => html = part.get_body().expect("html body"),
                _ => {}
            }
        }
        Mail {
            to: header("To").unwrap_or_default(),
            subject: header("Subject").unwrap_or_default(),
            message_id: header("Message-ID").unwrap_or_default(),
            text,
            html,
            attachments,
            headers: parsed.headers.iter().map(|h| (h.get_key(), h.get_value())).collect(),
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    /// The link printed under `label` in the text part (« Accepter : » then the address).
    pub fn link(&self, label: &str) -> String {
        let mut lines = self.text.lines();
        lines
            .find(|l| l.trim() == format!("{label} :"))
            .and_then(|_| lines.next())
            .map(|url| url.trim().to_owned())
            .unwrap_or_else(|| panic!("no « {label} » link in:\n{}", self.text))
    }
}
