//! What the suites share: the `essaim` binary, a bench that runs the real `essaim serve` against a fake
//! Telegram Bot API on loopback (fresh database, the shipped sample territory imported through the CLI),
//! raw HTTP requests, and readers of what the fake phones received.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use essaim_store::Store;
use essaim_telegram::fake::{FakeTelegram, SentMessage};

/// The sample tender (data/tender.json).
pub const TENDER: &str = "T-2026-014";
/// The facilitator's Telegram user and chat id.
pub const FACILITATOR: i64 = 1;
/// How long a suite waits for what a phone should show before failing with the serve log.
pub const WAIT: Duration = Duration::from_secs(30);

/// A file of the repository, e.g. `data/tender.json`.
pub fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

/// The `essaim` executable, built once per test run.
///
/// `env!("CARGO_BIN_EXE_essaim")` exists only in the tests of the package that owns the binary, and
/// `cargo test` builds a package's binaries only for its own integration tests: so this asks cargo to build
/// it, as `cargo run -p essaim` would, in the target directory and profile of this test executable. Cargo
/// rebuilds it when a source changed, so a test never runs a stale binary.
pub fn essaim_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BIN.get_or_init(build_essaim) {
        Ok(path) => path,
        Err(e) => panic!("could not build the essaim binary: {e}"),
    }
}

fn build_essaim() -> Result<PathBuf, String> {
    // This executable is <target dir>/<profile dir>/deps/e2e-<hash>.
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe.parent().and_then(Path::parent).ok_or("test executable outside a target directory")?;
    let target_dir = profile_dir.parent().ok_or("test executable outside a target directory")?;
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    // Cargo describes this test package to the process running it (CARGO_PKG_NAME, CARGO_MANIFEST_DIR,
    // OUT_DIR…). Passed on, they would reach build scripts that watch them (ring's does), and the next
    // plain cargo command would rebuild those crates and all that depends on them, every time.
    for (name, _) in std::env::vars_os() {
        let set_for_this_package = name.to_str().is_some_and(|n| {
            n.starts_with("CARGO_PKG_")
                || matches!(
                    n,
                    "CARGO_MANIFEST_DIR"
                        | "CARGO_MANIFEST_PATH"
                        | "CARGO_CRATE_NAME"
                        | "CARGO_BIN_NAME"
                        | "CARGO_PRIMARY_PACKAGE"
                        | "CARGO_TARGET_TMPDIR"
                        | "CARGO_RUSTC_CURRENT_DIR"
                        | "OUT_DIR"
                )
        });
        if set_for_this_package {
            command.env_remove(name);
        }
    }
    let out = command
        .args(["build", "-p", "essaim", "--bin", "essaim", "--message-format=json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(repo_file("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--profile", profile])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", Path::new(&cargo).display()))?;
    if !out.status.success() {
        return Err(format!("cargo build -p essaim exited with {}", out.status));
    }
    // The artifact messages name the executable, wherever cargo put it.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "essaim")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo built no essaim executable".to_owned())
}

/// Reads an integer environment variable (iterations, seeds), `default` when unset or not a number.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One HTTP/1.1 request on a raw connection (JSON body, `Connection: close`): status and body.
pub async fn http(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("serve accepts connections");
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("response read");
    let status = response.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// The real `essaim serve` and CLI on a fresh database and data directory, with the sample territory
/// imported and a fake Telegram Bot API on loopback.
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub fake: FakeTelegram,
    child: Option<Child>,
    /// Telegram user id of each linked supplier, by SIRET.
    pub suppliers: Vec<(String, i64)>,
    /// Environment of every command this bench runs (`essaim serve` and the CLI alike), on top of its own.
    pub env: Vec<(String, String)>,
}

impl Bench {
    /// Imports the sample directory and tender into a fresh database at `url`.
    pub async fn new(url: &str) -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let fake = FakeTelegram::start().await;
        let bench = Bench { dir, url: url.to_owned(), fake, child: None, suppliers: Vec::new(), env: Vec::new() };
        for args in [
            vec!["import".to_owned(), "suppliers".to_owned(), repo_file("data/suppliers.csv").display().to_string()],
            vec!["import".to_owned(), "tender".to_owned(), repo_file("data/tender.json").display().to_string()],
        ] {
            let out = bench.essaim(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        bench
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(essaim_bin());
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("ESSAIM_DATA_DIR", self.dir.path())
            .env("ESSAIM_DATABASE_URL", &self.url)
            .env_remove("ESSAIM_CONFIG")
            .env("ESSAIM_TELEGRAM_TOKEN", "123456:TEST-TOKEN")
            .env("ESSAIM_TELEGRAM_API_URL", self.fake.api_url())
            .env("ESSAIM_TELEGRAM__POLL_TIMEOUT_S", "1")
            .env("ESSAIM_SERVE__LISTEN", "127.0.0.1:0")
            .env("ESSAIM_CAMPAIGN__TICK_S", "1")
            // A killed server's claimed messages go out again after 2 s instead of a minute.
            .env("ESSAIM_OUTBOX__LEASE_S", "2")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    pub fn essaim(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("the essaim binary starts")
    }

    pub async fn store(&self) -> Store {
        Store::connect(&self.url).await.expect("database reachable")
    }

    /// Starts `essaim serve` (once more, after a kill).
    pub fn start(&mut self) {
        self.start_with(&[]);
    }

    /// Starts `essaim serve` with extra environment variables.
    pub fn start_with(&mut self, env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("serve.log"))
            .expect("log file");
        let mut command = self.command(&["serve"]);
        command.envs(env.iter().copied());
        let child = command
            .env("RUST_LOG", std::env::var("ESSAIM_TEST_SERVE_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("essaim serve starts");
        self.child = Some(child);
    }

    /// Kills the serving process without warning (SIGKILL), as a crash or an OOM kill would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it gracefully (SIGTERM).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// The address `essaim serve` listens on, from its start-up line.
    pub async fn listening_on(&self) -> String {
        for _ in 0..200 {
            if let Some(addr) =
                self.log().lines().rev().find_map(|l| l.split("listening on ").nth(1).map(str::to_owned))
            {
                return addr.trim().to_owned();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("serve never said where it listens\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// An invite code printed by `essaim invite`.
    pub fn invite(&self, args: &[&str]) -> String {
        let mut all = vec!["invite"];
        all.extend_from_slice(args);
        let out = self.essaim(&all);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        stdout.trim().strip_prefix("/start ").expect("a /start line").to_owned()
    }

    /// Pushes the facilitator's and every groupement member's `/start CODE` (invites made directly in
    /// the store, the facilitator's through the CLI).
    pub async fn link_everyone(&mut self) {
        let code = self.invite(&["--facilitator"]);
        self.fake.push_command(FACILITATOR, FACILITATOR, &format!("/start {code}"));
        let store = self.store().await;
        let reference = essaim_core::TenderRef::parse("ref", TENDER).expect("ref");
        let tender = store.tender(&reference).await.expect("tender read").expect("tender imported");
        let members = store.eligible_suppliers(&tender).await.expect("suppliers").expect("groupement");
        for (i, s) in members.iter().enumerate() {
            let user = 100 + i as i64;
            let code = format!("SUP-{i}");
            store.create_invite(&code, essaim_core::Role::Supplier, Some(&s.siret), None).await.expect("invite");
            self.fake.push_command(user, user, &format!("/start {code}"));
            self.suppliers.push((s.siret.to_string(), user));
        }
        store.close().await;
    }

    /// Waits until `done` holds, failing with the serve log when it does not within `timeout`.
    pub async fn wait(&self, what: &str, timeout: Duration, done: impl Fn(&FakeTelegram) -> bool) {
        if !self.fake.wait_until(timeout, done).await {
            panic!("timed out waiting for {what}\n--- serve log ---\n{}", self.log());
        }
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The offers of micro-lots (messages with an « Accepter » button) each chat received, latest version of
/// each message; the facilitator's question about a partial bid has buttons too but is not an offer.
pub fn offers(sent: &[SentMessage]) -> Vec<SentMessage> {
    sent.iter()
        .filter(|m| m.method == "sendMessage" && m.buttons.iter().flatten().any(|(label, _)| label == "Accepter"))
        .cloned()
        .collect()
}

/// How many offers the facilitator's launch note says went out (« … lancée : 12 offres … »).
pub fn launched_offers(note: &str) -> usize {
    note.split("lancée : ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("offer count in the launch note")
}

/// The data of the button labelled `label`.
pub fn button(message: &SentMessage, label: &str) -> String {
    message.buttons.iter().flatten().find(|(l, _)| l == label).map(|(_, d)| d.clone()).expect("button present")
}

/// The offer number a button's data names (`ok:12:T-…` → 12).
pub fn offer_number(data: &str) -> u32 {
    data.split(':').nth(1).and_then(|n| n.parse().ok()).expect("offer number in button data")
}

/// A callback query update with a given id, to deliver a press twice.
pub fn press_update(update_id: i64, user: i64, message_id: i64, data: &str) -> serde_json::Value {
    serde_json::json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("dup-{update_id}"),
            "from": {"id": user, "is_bot": false, "first_name": "Test"},
            "message": {"message_id": message_id, "date": 0, "chat": {"id": user, "type": "private", "first_name": "Test"}, "text": "offre"},
            "chat_instance": format!("ci{user}"),
            "data": data
        }
    })
}
