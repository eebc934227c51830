//! Scheduled jobs (reminders, deadline checks): when each last ran, so that several replicas
//! running the same schedule fire each occurrence once.

use chrono::{DateTime, SubsecRound, Utc};

use crate::{Store, StoreError};

impl Store {
    /// Records, atomically, that job `name` runs for the occurrence `scheduled_at`. Returns `true`
    /// when this caller won (the job never ran, or last ran for an earlier occurrence) and should
    /// do the work; `false` when it already ran for this occurrence or a later one.
    #[tracing::instrument(skip(self))]
    pub async fn claim_job_run(&self, name: &str, scheduled_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let scheduled_at = scheduled_at.trunc_subsecs(6);
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO jobs (name, last_run_at) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at \
                 WHERE jobs.last_run_at < excluded.last_run_at",
            )
            .bind(name)
            .bind(scheduled_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed > 0)
    }

    /// The occurrence job `name` last ran for, or `None` when it never ran.
    #[tracing::instrument(skip(self))]
    pub async fn job_last_run(&self, name: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let last = with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT last_run_at FROM jobs WHERE name = $1").bind(name).fetch_optional(pool).await?
        });
        Ok(last)
    }
}
