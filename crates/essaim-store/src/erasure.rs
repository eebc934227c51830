//! Forgetting a person on request (RGPD art. 17, « droit à l'effacement »).
//!
//! A chat account is a person: its platform id, its chat id, its display name. When that person asks
//! to be forgotten (`/oublier`), [`Store::apply`](crate::Store::apply) deletes the account and every
//! message queued or kept for its chat, and replaces the person's identifiers in the event log by a
//! pseudonym. The log keeps what the structure committed to — an accepted lot is evidence the buyer
//! and an audit may need (art. 17(3)(b) and (e): a legal obligation, legal claims) — but no longer who
//! pressed the button. This is the one rewrite the log allows (migration 0007): the event keeps its
//! place, stream, kind and time, counts one more redaction, and the `account_forgotten` event that
//! follows lists it.

use serde_json::Value;

/// The event kind that records an erasure (in [`crate::ACCOUNTS_STREAM`]).
pub const ACCOUNT_FORGOTTEN: &str = "account_forgotten";

/// A chat account to forget, and the pseudonym its identifiers become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forget {
    pub platform: String,
    pub user_id: String,
    /// Random, not derived from the person: once the account is gone nothing links the two.
    pub pseudonym: String,
}

/// The keys of an actor object that carry the person beyond its id: where to write to it, its name.
const PERSONAL_KEYS: [&str; 3] = ["chat_id", "name", "display_name"];

/// Replaces, in one event payload, the person `platform`/`user_id` by `pseudonym`: every object naming
/// them (`user_id` with a matching `channel` or `platform`) keeps only the pseudonym as its user id and
/// loses its chat id and name; every `"platform:user_id"` string (an invite's `used_by`) becomes
/// `"platform:pseudonym"`. Returns whether anything changed. Another person with the same id on another
/// platform is left alone.
pub fn redact(value: &mut Value, platform: &str, user_id: &str, pseudonym: &str) -> bool {
    match value {
        Value::Object(map) => {
            let names_the_person = map.get("user_id").and_then(Value::as_str) == Some(user_id)
                && ["channel", "platform"].iter().any(|k| map.get(*k).and_then(Value::as_str) == Some(platform));
            let mut changed = false;
            if names_the_person {
                map.insert("user_id".to_owned(), Value::String(pseudonym.to_owned()));
                for key in PERSONAL_KEYS {
                    map.remove(key);
                }
                changed = true;
            }
            for (_, inner) in map.iter_mut() {
                changed |= redact(inner, platform, user_id, pseudonym);
            }
            changed
        }
        Value::Array(items) => {
            items.iter_mut().fold(false, |changed, item| redact(item, platform, user_id, pseudonym) | changed)
        }
        Value::String(s) if *s == format!("{platform}:{user_id}") => {
            *s = format!("{platform}:{pseudonym}");
            true
        }
        _ => false,
    }
}

/// A `LIKE` pattern matching any text that contains `needle` literally (`%`, `_` and `\` escaped; the
/// query says `ESCAPE '\'`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::from("%");
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_actor_keeps_its_channel_and_loses_its_id_chat_and_name() {
        let mut answered = json!({
            "type": "answered", "offer": 3, "supplier": "73282932000074", "quantity": 42,
            "by": {"channel": "telegram", "user_id": "42", "chat_id": "42", "name": "Awa Diallo"}
        });
        assert!(redact(&mut answered, "telegram", "42", "anonyme-ABCD2345"));
        assert_eq!(
            answered,
            json!({
                "type": "answered", "offer": 3, "supplier": "73282932000074", "quantity": 42,
                "by": {"channel": "telegram", "user_id": "anonyme-ABCD2345"}
            }),
            "the commitment (offer, structure, quantity) stays; a number equal to the id is not an id"
        );
    }

    #[test]
    fn account_and_invite_events_are_redacted_and_other_people_are_not() {
        let mut linked = json!({"platform": "discord", "user_id": "42", "role": "supplier"});
        assert!(redact(&mut linked, "discord", "42", "anonyme-X"));
        assert_eq!(linked["user_id"], "anonyme-X");

        let mut used = json!({"role": "supplier", "used_by": "discord:42"});
        assert!(redact(&mut used, "discord", "42", "anonyme-X"));
        assert_eq!(used["used_by"], "discord:anonyme-X");

        // Same id on another platform, another id, an id inside a longer text: someone else.
        for other in [
            json!({"by": {"channel": "telegram", "user_id": "42", "name": "Quelqu'un"}}),
            json!({"by": {"channel": "discord", "user_id": "420", "name": "Autre"}}),
            json!({"used_by": "telegram:42", "text": "discord:42 et plus"}),
            json!([1, "42", null]),
        ] {
            let mut copy = other.clone();
            assert!(!redact(&mut copy, "discord", "42", "anonyme-X"), "{other}");
            assert_eq!(copy, other);
        }
    }

    #[test]
    fn like_patterns_match_the_needle_literally() {
        assert_eq!(contains_pattern("42"), "%42%");
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
