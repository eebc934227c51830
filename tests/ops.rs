//! What an operator runs around the service: logs a collector can read (`--log-format json`), and moving
//! a whole installation to another database (`essaim export` / `essaim import --all`).

use std::path::Path;
use std::process::{Command, Output};

use essaim_store::testing::with_each_database_url;

use crate::support::{essaim_bin, repo_file};

fn essaim(args: &[&str], url: &str, dir: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(essaim_bin())
        .args(args)
        .current_dir(dir)
        .env("ESSAIM_DATA_DIR", dir)
        .env("ESSAIM_DATABASE_URL", url)
        .env_remove("ESSAIM_CONFIG")
        .env_remove("ESSAIM_LOG_FORMAT")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .expect("the essaim binary starts")
}

fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// Every stderr line is one JSON object with `level`, `target` and `message`; returns the messages.
fn json_messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|line| {
            let event: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
            assert!(event["level"].is_string() && event["target"].is_string(), "{line}");
            event["message"].as_str().unwrap_or_else(|| panic!("no message: {line}")).to_owned()
        })
        .collect()
}

#[test]
fn logs_are_json_lines_when_asked_by_flag_environment_or_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("essaim.db").display());

    let out = essaim(&["--log-format", "json", "-v", "migrate"], &url, dir.path(), &[]);
    let messages = json_messages(&ok(&out));
    assert!(messages.iter().any(|m| m == "database schema up to date"), "{messages:?}");

    let out = essaim(&["-v", "migrate"], &url, dir.path(), &[("ESSAIM_LOG_FORMAT", "json")]);
    assert!(!json_messages(&ok(&out)).is_empty());

    let config = dir.path().join("essaim.toml");
    std::fs::write(&config, "[log]\nformat = \"json\"\n").expect("config written");
    let config = config.display().to_string();
    let out = essaim(&["--config", &config, "-v", "migrate"], &url, dir.path(), &[]);
    assert!(!json_messages(&ok(&out)).is_empty());

    // Text by default: what a person reads.
    let out = essaim(&["-v", "migrate"], &url, dir.path(), &[]);
    let stderr = ok(&out);
    assert!(stderr.contains("INFO") && stderr.contains("database schema up to date"), "{stderr}");
    assert!(serde_json::from_str::<serde_json::Value>(stderr.lines().next().unwrap_or("")).is_err(), "{stderr}");

    let out = essaim(&["--log-format", "xml", "migrate"], &url, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

/// SQLite → each backend → export again: the same file; and the commands refuse what they must.
#[tokio::test]
async fn an_installation_moves_from_sqlite_to_each_backend_through_the_command_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let suppliers = repo_file("data/suppliers.csv").display().to_string();
    let tender = repo_file("data/tender.json").display().to_string();
    ok(&essaim(&["import", "suppliers", &suppliers], &source, dir.path(), &[]));
    ok(&essaim(&["import", "tender", &tender], &source, dir.path(), &[]));
    ok(&essaim(&["invite", "--facilitator"], &source, dir.path(), &[]));
    let file = dir.path().join("installation.jsonl");
    let stderr = ok(&essaim(&["export", &file.display().to_string()], &source, dir.path(), &[]));
    assert!(stderr.contains("written to"), "{stderr}");
    let exported = std::fs::read(&file).expect("export written");
    let dir = std::sync::Arc::new(dir);

    with_each_database_url(move |backend, url| {
        let (dir, exported, file) = (dir.clone(), exported.clone(), file.clone());
        async move {
            let file = file.display().to_string();
            let out = essaim(&["import", "--all", &file], &url, dir.path(), &[]);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            ok(&out);
            assert!(stdout.contains(&format!("imported into {backend}")), "{stdout}");

            let again = dir.path().join(format!("again-{backend}.jsonl"));
            ok(&essaim(&["export", &again.display().to_string()], &url, dir.path(), &[]));
            assert!(std::fs::read(&again).expect("re-export") == exported, "[{backend}] re-export differs");

            // A second import into the now used database is the user's mistake (exit 2), and changes nothing.
            let out = essaim(&["import", "--all", &file], &url, dir.path(), &[]);
            assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
            Ok::<_, String>(())
        }
    })
    .await;
}
