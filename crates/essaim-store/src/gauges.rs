//! What `/metrics` reads from the database at each scrape: queued messages and campaigns, counted where
//! they are (several replicas share one database, so no process could count them in memory).

use chrono::{DateTime, Utc};

use crate::{Store, StoreError};

impl Store {
    /// Messages waiting to be sent, per platform: how many, and when the oldest of them was queued.
    pub async fn outbox_pending_by_platform(&self) -> Result<Vec<(String, i64, DateTime<Utc>)>, StoreError> {
        let rows: Vec<(String, i64, DateTime<Utc>)> = with_pool!(self, |pool| sqlx::query_as(
            "SELECT platform, COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending' GROUP BY platform \
             ORDER BY platform"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows)
    }

    /// Campaigns per status (`running`, `closed`…, the domain's words).
    pub async fn campaigns_by_status(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, |pool| sqlx::query_as(
            "SELECT status, COUNT(*) FROM campaigns GROUP BY status ORDER BY status"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows)
    }
}
