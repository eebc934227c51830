//! A platform's « wait until », shared by every replica (migration 0010). When a send gets HTTP 429 the
//! platform names how long to wait; the dispatcher that got it records the end of that wait for the chat
//! and for the whole bot, and every dispatcher honours it: the outbox claim skips the rows it covers
//! (see `outbox`), and a dispatcher looks again just before a send it had to wait for.

use chrono::{DateTime, SubsecRound, Utc};

use crate::{Store, StoreError};

/// The `chat_id` of a wait that holds every chat of the platform (the whole bot).
pub(crate) const WHOLE_BOT: &str = "";

impl Store {
    /// Records that nothing may be sent on `platform` before `not_before`: to `chat` only, or to every
    /// chat when `chat` is `None`. A wait already recorded that ends later is kept.
    #[tracing::instrument(skip(self))]
    pub async fn hold_sends(
        &self,
        platform: &str,
        chat: Option<&str>,
        not_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Rounded up to the microsecond, the precision both backends keep: never shorter than asked.
        let not_before = not_before.trunc_subsecs(6) + chrono::Duration::microseconds(1);
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO send_waits (platform, chat_id, not_before) VALUES ($1, $2, $3) \
                 ON CONFLICT (platform, chat_id) DO UPDATE SET not_before = excluded.not_before \
                 WHERE send_waits.not_before < excluded.not_before",
            )
            .bind(platform)
            .bind(chat.unwrap_or(WHOLE_BOT))
            .bind(not_before)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Until when a send to `chat` on `platform` must wait (its own wait or the whole bot's, whichever
    /// ends later), if that is after `now`.
    #[tracing::instrument(skip(self))]
    pub async fn send_wait(
        &self,
        platform: &str,
        chat: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let until: Option<DateTime<Utc>> = with_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT MAX(not_before) FROM send_waits WHERE platform = $1 AND chat_id IN ($2, $3) \
                 AND not_before > $4",
            )
            .bind(platform)
            .bind(chat.unwrap_or(WHOLE_BOT))
            .bind(WHOLE_BOT)
            .bind(now.trunc_subsecs(6))
            .fetch_one(pool)
            .await?
        });
        Ok(until)
    }
}
