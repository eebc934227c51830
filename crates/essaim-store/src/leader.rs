//! One leader among the replicas of a deployment for a job only one process may do at a time: Telegram
//! long polling (Telegram refuses two `getUpdates` at once, and answers each update to one of them).
//!
//! On PostgreSQL the leader holds a session advisory lock keyed by the schema and the job, on a
//! connection of its own: the process dying closes that connection, which frees the lock, and a replica
//! standing by takes it at its next try. On SQLite there is one process per database (see `claimant`):
//! it always leads.

use sqlx::{Connection, PgConnection};

use crate::store::Pool;
use crate::{Store, StoreError};

/// The lead of one job, held for as long as this value lives (dropping it frees it).
#[derive(Debug)]
pub struct Leadership {
    job: String,
    session: Option<PgConnection>,
}

impl Leadership {
    pub fn job(&self) -> &str {
        &self.job
    }

    /// Whether the lead is still ours: on PostgreSQL, whether the session holding the lock still answers
    /// (a lost connection frees the lock, and another process may have taken it since). A connection cut
    /// without a word can make this wait for the network's timeout: bound it with a timer.
    pub async fn is_held(&mut self) -> bool {
        let Some(conn) = &mut self.session else { return true };
        matches!(sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut *conn).await, Ok(1))
    }

    /// Frees the lead now (dropping it does too; this also says goodbye to PostgreSQL).
    pub async fn release(self) {
        if let Some(conn) = self.session {
            let _ = conn.close().await;
        }
    }
}

impl Store {
    /// Tries to become the leader of `job` among the processes on this database; `None` when another
    /// live process leads it. Never waits. On SQLite, always the leader.
    #[tracing::instrument(skip(self))]
    pub async fn try_lead(&self, job: &str) -> Result<Option<Leadership>, StoreError> {
        let session = match &self.pool {
            Pool::Sqlite(_) => None,
            Pool::Postgres(pool) => {
                let mut conn = pool.acquire().await?.detach();
                // A key of its own (not a dispatcher instance's), per schema like the dispatcher's.
                let locked: bool = sqlx::query_scalar(
                    "SELECT pg_try_advisory_lock(hashtextextended(\
                     COALESCE(current_schema(), '') || '/essaim-leader/' || $1, 0))",
                )
                .bind(job)
                .fetch_one(&mut conn)
                .await?;
                if !locked {
                    let _ = conn.close().await;
                    return Ok(None);
                }
                Some(conn)
            }
        };
        Ok(Some(Leadership { job: job.to_owned(), session }))
    }
}
