//! Delivered messages found by the start of their key, to edit them later: the chat engine finds the
//! copies of an offer a structure listed (`/mes_lots`, keyed by the listing) to take their buttons
//! off once the offer closes.

use crate::{Store, StoreError};

/// A delivered message, with the platform's id of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub key: String,
    pub chat_id: String,
    pub platform_message_id: String,
}

impl Store {
    /// The messages sent under a key that starts with `prefix`, oldest first (the others have no id
    /// to edit yet).
    #[tracing::instrument(skip(self))]
    pub async fn sent_with_key_prefix(&self, prefix: &str) -> Result<Vec<SentMessage>, StoreError> {
        let pattern = format!("{}%", escape_like(prefix));
        let rows: Vec<(String, String, Option<String>)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT key, chat_id, platform_message_id FROM outbox \
                 WHERE key LIKE $1 ESCAPE '\\' AND status = 'sent' AND platform_message_id IS NOT NULL \
                 ORDER BY id",
            )
            .bind(&pattern)
            .fetch_all(pool)
            .await?
        });
        // SQLite's LIKE ignores ASCII case: the prefix itself decides.
        Ok(rows
            .into_iter()
            .filter(|(key, ..)| key.starts_with(prefix))
            .filter_map(|(key, chat_id, id)| Some(SentMessage { key, chat_id, platform_message_id: id? }))
            .collect())
    }
}

/// `text` matched literally by LIKE … ESCAPE '\'.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::escape_like(r"listed:T_1%:3\"), r"listed:T\_1\%:3\\");
    }
}
