//! Runs a storage test on each database backend, each time on a fresh, private database (feature
//! `testing`; for this crate's tests and the binary's end-to-end tests).
//!
//! - SQLite: always, on a new file in a temporary directory removed afterwards.
//! - PostgreSQL: when `ESSAIM_TEST_POSTGRES_URL` is set (e.g. `postgres://postgres@127.0.0.1:5432/test`),
//!   on a new schema of that database (selected through `search_path` in the URL), dropped afterwards,
//!   so that tests run in parallel. When the variable is not set, one line on stderr says PostgreSQL
//!   was skipped; with `ESSAIM_TEST_REQUIRE_POSTGRES=1` the test fails instead.
//!
//! ```no_run
//! # async fn demo() {
//! essaim_store::testing::with_each_backend(|store| async move {
//!     assert!(store.suppliers().await?.is_empty());
//!     Ok::<_, essaim_store::StoreError>(())
//! })
//! .await;
//! # }
//! ```
//! The test body runs in its own task (so a panic still lets the database be removed) and must
//! therefore be `Send + 'static`: move what it needs into the `async move` block.

use std::fmt::Debug;
use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use tempfile::TempDir;

use crate::store::Pool;
use crate::{Backend, Store, StoreError};

/// The PostgreSQL server to test against (a database the tests may create schemas in).
pub const POSTGRES_URL_VAR: &str = "ESSAIM_TEST_POSTGRES_URL";
/// Set to `1` to make the tests fail rather than skip PostgreSQL when no URL is given.
pub const REQUIRE_POSTGRES_VAR: &str = "ESSAIM_TEST_REQUIRE_POSTGRES";

/// Runs `test` once per available backend with a connected, migrated [`Store`] on a fresh
/// database. An `Err` or a panic fails the test, naming the backend.
pub async fn with_each_backend<F, Fut, E>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Debug + Send + 'static,
{
    for backend in backends() {
        let database = FreshDatabase::create(backend).await;
        let store = match connect_and_migrate(database.url()).await {
            Ok(store) => store,
            Err(e) => {
                database.remove().await;
                panic!("[{backend}] could not prepare the test database: {e}");
            }
        };
        let outcome = tokio::spawn(test(store.clone())).await;
        store.close().await;
        database.remove().await;
        report(backend, outcome);
    }
}

/// Runs `test` once per available backend with the URL of a fresh, empty (not migrated) database,
/// e.g. to start the `essaim` binary with `--database-url`.
pub async fn with_each_database_url<F, Fut, E>(test: F)
where
    F: Fn(Backend, String) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Debug + Send + 'static,
{
    for backend in backends() {
        let database = FreshDatabase::create(backend).await;
        let outcome = tokio::spawn(test(backend, database.url().to_owned())).await;
        database.remove().await;
        report(backend, outcome);
    }
}

/// Executes one SQL statement as is, bypassing the repository (to check what the database itself
/// refuses, or to damage a row on purpose). Tests only.
pub async fn execute_raw(store: &Store, sql: &str) -> Result<u64, StoreError> {
    let sql = AssertSqlSafe(sql.to_owned());
    let done = match &store.pool {
        Pool::Sqlite(pool) => sqlx::query(sql).execute(pool).await?.rows_affected(),
        Pool::Postgres(pool) => sqlx::query(sql).execute(pool).await?.rows_affected(),
    };
    Ok(done)
}

async fn connect_and_migrate(url: &str) -> Result<Store, StoreError> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

fn report<E: Debug>(backend: Backend, outcome: Result<Result<(), E>, tokio::task::JoinError>) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("[{backend}] test failed: {e:?}"),
        Err(join) if join.is_panic() => {
            eprintln!("[{backend}] the test panicked (message above)");
            std::panic::resume_unwind(join.into_panic())
        }
        Err(join) => panic!("[{backend}] test task did not finish: {join}"),
    }
}

/// The backends this run tests: SQLite always, PostgreSQL when configured.
fn backends() -> Vec<Backend> {
    if postgres_url().is_some() {
        return vec![Backend::Sqlite, Backend::Postgres];
    }
    if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|v| v.trim() == "1") {
        panic!(
            "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set: give the URL of a PostgreSQL \
             database the tests may create schemas in, e.g. postgres://postgres@127.0.0.1:5432/test"
        );
    }
    static NOTICE: Once = Once::new();
    NOTICE.call_once(|| {
        // Written to the real stderr, past the test harness's capture, so that it is seen.
        let _ = writeln!(
            std::io::stderr(),
            "essaim-store tests: PostgreSQL SKIPPED ({POSTGRES_URL_VAR} is not set); SQLite only"
        );
    });
    vec![Backend::Sqlite]
}

fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR).ok().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty())
}

enum FreshDatabase {
    Sqlite { url: String, _dir: TempDir },
    Postgres { url: String, server: String, schema: String },
}

impl FreshDatabase {
    async fn create(backend: Backend) -> FreshDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("essaim-store-test-")
                    .tempdir()
                    .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
                let url = format!("sqlite://{}", dir.path().join("essaim.db").display());
                FreshDatabase::Sqlite { url, _dir: dir }
            }
            Backend::Postgres => {
                let server = postgres_url().unwrap_or_else(|| panic!("{POSTGRES_URL_VAR} is not set"));
                static COUNTER: AtomicU64 = AtomicU64::new(0);
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or_default();
                let schema =
                    format!("essaim_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
                admin(&server, &format!("CREATE SCHEMA \"{schema}\"")).await;
                let separator = if server.contains('?') { '&' } else { '?' };
                let url = format!("{server}{separator}options[search_path]={schema}");
                FreshDatabase::Postgres { url, server, schema }
            }
        }
    }

    fn url(&self) -> &str {
        match self {
            FreshDatabase::Sqlite { url, .. } | FreshDatabase::Postgres { url, .. } => url,
        }
    }

    async fn remove(self) {
        if let FreshDatabase::Postgres { server, schema, .. } = self {
            admin(&server, &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await;
        }
    }
}

/// Runs one statement on the test server outside any test schema.
async fn admin(server: &str, statement: &str) {
    let mut conn = PgConnection::connect(server)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL test server given by {POSTGRES_URL_VAR}: {e}"));
    sqlx::query(AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL test server refused `{statement}`: {e}"));
    let _ = conn.close().await;
}
