use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// How long a SQLite writer waits for another one before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A connection pool to the essaim database. Cheap to clone (clones share the pool).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
    /// SQLite on a file: the file whose lock makes one process the dispatcher of the database (see
    /// [`Store::try_lock_dispatcher`]). `None` on PostgreSQL and for an in-memory database.
    pub(crate) dispatcher_lock_file: Option<std::path::PathBuf>,
}

impl Store {
    /// Opens the database named by `url`:
    /// - `sqlite://path/to/essaim.db` (created with its parent directory when missing; WAL journal,
    ///   `synchronous=FULL`, foreign keys on, busy timeout) or `sqlite::memory:` (one connection);
    /// - `postgres://user@host:port/database` (or `postgresql://`), every libpq-style parameter sqlx
    ///   knows, e.g. `?options[search_path]=essaim`.
    ///
    /// Does not create or change tables: call [`Store::migrate`] for that.
    #[tracing::instrument(skip(url), fields(backend))]
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        let url = url.trim();
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Self::connect_sqlite(url).await,
            "postgres" | "postgresql" => Self::connect_postgres(url).await,
            _ => Err(StoreError::UnsupportedUrl { scheme: scheme.to_owned() }),
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Store, StoreError> {
        tracing::Span::current().record("backend", "sqlite");
        let connect_error = |source| StoreError::Connect { backend: Backend::Sqlite.name(), source };
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)
            .map_err(connect_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        if !in_memory
            && let Some(parent) = options.get_filename().parent()
            && !parent.as_os_str().is_empty()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent)
                .map_err(|source| StoreError::CreateDirectory { path: parent.to_owned(), source })?;
        }
        let pool_options = if in_memory {
            // Each connection would otherwise see its own empty database: keep exactly one, forever.
            SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        };
        let dispatcher_lock_file = (!in_memory).then(|| {
            let mut name = options.get_filename().as_os_str().to_owned();
            name.push("-dispatcher.lock");
            std::path::PathBuf::from(name)
        });
        let pool = pool_options.acquire_timeout(ACQUIRE_TIMEOUT).connect_with(options).await.map_err(connect_error)?;
        Ok(Store { pool: Pool::Sqlite(pool), dispatcher_lock_file })
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        tracing::Span::current().record("backend", "postgres");
        let connect_error = |source| StoreError::Connect { backend: Backend::Postgres.name(), source };
        let options = PgConnectOptions::from_str(url).map_err(connect_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        Ok(Store { pool: Pool::Postgres(pool), dispatcher_lock_file: None })
    }

    /// Brings the schema up to date with the migrations embedded in this binary (`migrations/sqlite`
    /// or `migrations/postgres`, same versions), then rebuilds the holdings of campaigns recorded
    /// before that projection existed. Safe to run at every start and from several processes at once
    /// (the migrator takes a lock; a rebuild checks the campaign's version).
    #[tracing::instrument(skip(self), fields(backend = %self.backend()))]
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
            Pool::Postgres(pool) => {
                POSTGRES_MIGRATIONS.run(pool).await?;
                // Without statistics the planner reads the outbox claim badly until autovacuum first
                // analyses the table: a new deployment's first large campaign sent ~100 mails/s instead
                // of ~360 (measured, `cargo bench -p essaim-mail --bench mail`). Sampling is cheap.
                sqlx::query("ANALYZE outbox").execute(pool).await?;
            }
        }
        // Campaigns recorded before the holdings projection existed get theirs from their events.
        self.rebuild_stale_holdings().await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Whether the database answers (`SELECT 1`), for readiness checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: i32 = with_pool!(self, |pool| sqlx::query_scalar("SELECT 1").fetch_one(pool).await?);
        Ok(())
    }

    /// Waits for running queries and closes every connection (SQLite checkpoints its WAL).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The clock of the record: UTC, to the microsecond so that both backends give back the same value.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert!(SQLITE_MIGRATIONS.iter().next().is_some());
        assert_eq!(names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS));
    }
}
