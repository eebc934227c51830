//! Who holds an outbox claim, and the lock that lets a restarted dispatcher take back its own claims at
//! once instead of waiting out their lease.
//!
//! A claim names its [`Claimant`]: a dispatcher *instance* (a name that stays the same across restarts,
//! `serve.instance`) and the *incarnation* of it (one run of the process). When a process dies mid-send,
//! its claims would hold their chats for the whole lease (60 s by default). But a process that starts
//! under the same instance name knows the earlier one is dead if it can take the instance's lock, held by
//! every live dispatcher for its whole run: then it gives back the claims of the instance's earlier
//! incarnations ([`Store::release_claims_of_earlier_runs`]) and sends them at once. Claims of other
//! instances keep their full lease: they may be live replicas, mid-send.
//!
//! The lock: on PostgreSQL a session advisory lock keyed by the schema and the instance name, on a
//! connection of its own (a dead process's connection closes, which frees it); on SQLite an exclusive
//! lock on the file `<database>-dispatcher.lock`, so one process at a time dispatches a SQLite database
//! (the kernel frees it when the process dies). An in-memory SQLite database is private to its process.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;

use sqlx::{Connection, PgConnection};

use crate::store::Pool;
use crate::{Store, StoreError};

/// One run of a dispatcher: the instance it runs as (`None`: unnamed, its claims end only with their
/// lease) and its incarnation (unique to this run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant {
    instance: Option<String>,
    incarnation: String,
}

impl Claimant {
    /// A run of `instance` (`None` for an unnamed dispatcher) identified by `incarnation`, which must
    /// differ from every earlier run's (a random id).
    pub fn new(instance: Option<String>, incarnation: impl Into<String>) -> Self {
        Self { instance, incarnation: incarnation.into() }
    }

    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    pub fn incarnation(&self) -> &str {
        &self.incarnation
    }
}

/// Held by the one live dispatcher of an instance, for as long as it runs (dropping it frees the lock).
#[derive(Debug)]
pub struct DispatcherLock {
    instance: String,
    hold: Hold,
}

#[derive(Debug)]
enum Hold {
    /// The lock file of a SQLite database, locked (closing it frees the lock).
    File { _locked: File },
    /// An in-memory SQLite database: no other process can reach it.
    Private,
    /// The PostgreSQL session that holds the advisory lock.
    Session(PgConnection),
}

impl DispatcherLock {
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether the lock is still ours: on PostgreSQL, whether the session holding it still answers (a
    /// lost connection frees the lock, and another process may have taken it since). A connection cut
    /// without a word can make this wait for the network's timeout: bound it with a timer.
    pub async fn is_held(&mut self) -> bool {
        match &mut self.hold {
            Hold::File { .. } | Hold::Private => true,
            Hold::Session(conn) => {
                matches!(sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut *conn).await, Ok(1))
            }
        }
    }

    /// Frees the lock now (dropping it does too; this also says goodbye to PostgreSQL).
    pub async fn unlock(self) {
        if let Hold::Session(conn) = self.hold {
            let _ = conn.close().await;
        }
    }
}

impl Store {
    /// Tries to become the one live dispatcher of `instance`; `None` when another live process holds
    /// the lock (on SQLite: any other process dispatching this database). Never waits.
    #[tracing::instrument(skip(self))]
    pub async fn try_lock_dispatcher(&self, instance: &str) -> Result<Option<DispatcherLock>, StoreError> {
        let hold = match &self.pool {
            Pool::Sqlite(_) => match &self.dispatcher_lock_file {
                None => Some(Hold::Private),
                Some(path) => lock_file(path, instance)?.map(|file| Hold::File { _locked: file }),
            },
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                // Advisory locks are per database: the schema in the key keeps two essaim deployments in
                // two schemas of one database (and parallel tests) apart.
                let locked: bool = sqlx::query_scalar(
                    "SELECT pg_try_advisory_lock(hashtextextended(\
                     COALESCE(current_schema(), '') || '/essaim-dispatcher/' || $1, 0))",
                )
                .bind(instance)
                .fetch_one(&mut conn)
                .await?;
                if locked {
                    Some(Hold::Session(conn))
                } else {
                    let _ = conn.close().await;
                    None
                }
            }
        };
        Ok(hold.map(|hold| DispatcherLock { instance: instance.to_owned(), hold }))
    }

    /// Gives back at once the claims of `claimant`'s instance held by its other incarnations (dead:
    /// `lock` proves no other live process runs as that instance); their messages are due again,
    /// with the attempt they counted (it may have reached the platform). Returns how many.
    #[tracing::instrument(skip(self, lock))]
    pub async fn release_claims_of_earlier_runs(
        &self,
        lock: &DispatcherLock,
        claimant: &Claimant,
    ) -> Result<u64, StoreError> {
        let released = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET claimed_until = NULL WHERE status = 'pending' AND claimed_until IS NOT NULL \
                 AND claimed_instance = $1 AND (claimed_by IS NULL OR claimed_by <> $2)",
            )
            .bind(lock.instance())
            .bind(claimant.incarnation())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(released)
    }
}

/// Locks the file at `path` (created if missing) without waiting; `None` when another process holds it.
fn lock_file(path: &std::path::Path, instance: &str) -> Result<Option<File>, StoreError> {
    let io_error = |source| StoreError::LockFile { path: path.to_owned(), source };
    let mut file = OpenOptions::new().create(true).write(true).truncate(false).open(path).map_err(io_error)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(source)) => return Err(io_error(source)),
    }
    // Who holds it, for a person wondering why a second `essaim serve` does not send.
    file.set_len(0).map_err(io_error)?;
    writeln!(file, "essaim dispatcher: instance {instance}, process {}", std::process::id()).map_err(io_error)?;
    Ok(Some(file))
}
