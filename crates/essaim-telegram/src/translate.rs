//! Telegram update -> engine input. Pure: no I/O.

use essaim_chat::{ChatKind, Incoming, IncomingKind, Platform};
use teloxide::types::Chat;
use teloxide::types::{CallbackQuery, MediaKind, MediaVenue, Message, MessageKind, Update, UpdateKind, User};

/// One Telegram update translated for the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Translated {
    pub incoming: Incoming,
    /// Set for a button press: the callback query to answer once the engine has handled it (the
    /// phone shows a spinner until then).
    pub callback_query_id: Option<String>,
}

/// Telegram update -> engine input, or `None` for what the engine does not handle (edited
/// messages, channel posts, stickers, photos, messages from bots or without a sender, buttons of
/// inline-mode messages…).
///
/// - `/cmd@botname a b` -> [`IncomingKind::Command`] `{ name: "cmd", args: ["a", "b"] }` (name in
///   lowercase, arguments split on whitespace);
/// - other text -> [`IncomingKind::Text`];
/// - button press -> [`IncomingKind::Button`] (chat = the message's chat, user = who pressed);
/// - `chat` = [`ChatKind::Private`] in a private chat with the bot, [`ChatKind::Shared`] in a group
///   (`private_notice` for a button press: its toast is shown to the presser alone);
/// - shared location or venue -> [`IncomingKind::Location`].
pub fn translate(update: &Update) -> Option<Translated> {
    let update_id = update.id.0.to_string();
    match &update.kind {
        UpdateKind::Message(message) => {
            let user = message.from.as_ref().filter(|user| !user.is_bot)?;
            let kind = message_kind(message)?;
            Some(Translated { incoming: incoming(update_id, user, &message.chat, kind), callback_query_id: None })
        }
        UpdateKind::CallbackQuery(query) => button(update_id, query),
        _ => None,
    }
}

/// The callback query carried by `update`, if any: answered even when the engine ignores it.
pub(crate) fn callback_query_id(update: &Update) -> Option<String> {
    match &update.kind {
        UpdateKind::CallbackQuery(query) => Some(query.id.0.clone()),
        _ => None,
    }
}

fn message_kind(message: &Message) -> Option<IncomingKind> {
    let MessageKind::Common(common) = &message.kind else {
        return None;
    };
    match &common.media_kind {
        MediaKind::Text(text) => Some(text_kind(&text.text)),
        MediaKind::Location(location) => Some(IncomingKind::Location {
            latitude: location.location.latitude,
            longitude: location.location.longitude,
        }),
        MediaKind::Venue(MediaVenue { venue, .. }) => {
            Some(IncomingKind::Location { latitude: venue.location.latitude, longitude: venue.location.longitude })
        }
        _ => None,
    }
}

/// `/cmd@bot a b` -> `Command`; anything else (including a lone `/`) -> `Text`.
fn text_kind(text: &str) -> IncomingKind {
    if let Some(rest) = text.strip_prefix('/') {
        let mut words = rest.split_whitespace();
        let head = if rest.starts_with(char::is_whitespace) { "" } else { words.next().unwrap_or("") };
        let name = head.split('@').next().unwrap_or("").to_lowercase();
        if !name.is_empty() {
            return IncomingKind::Command { name, args: words.map(str::to_owned).collect() };
        }
    }
    IncomingKind::Text(text.to_owned())
}

fn button(update_id: String, query: &CallbackQuery) -> Option<Translated> {
    let data = query.data.clone()?;
    // Buttons of inline-mode messages carry no chat: essaim sends none, so there is none to answer in.
    let message = query.message.as_ref()?;
    if query.from.is_bot {
        return None;
    }
    let kind = IncomingKind::Button { data, message_id: Some(message.id().0.to_string()) };
    Some(Translated {
        incoming: incoming(update_id, &query.from, message.chat(), kind),
        callback_query_id: Some(query.id.0.clone()),
    })
}

fn incoming(update_id: String, user: &User, chat: &Chat, kind: IncomingKind) -> Incoming {
    Incoming {
        platform: Platform::Telegram,
        update_id,
        user_id: user.id.0.to_string(),
        chat_id: chat.id.0.to_string(),
        user_name: user_name(user),
        language: user.language_code.clone().filter(|l| !l.is_empty()),
        // Groups, supergroups and channels are read by others.
        chat: if chat.is_private() {
            ChatKind::Private
        } else {
            ChatKind::Shared { private_notice: matches!(kind, IncomingKind::Button { .. }) }
        },
        kind,
    }
}

fn user_name(user: &User) -> Option<String> {
    let full = user.full_name();
    let full = full.trim();
    if !full.is_empty() { Some(full.to_owned()) } else { user.username.clone().filter(|u| !u.is_empty()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(text: &str) -> IncomingKind {
        text_kind(text)
    }

    #[test]
    fn command_forms() {
        let cmd = |name: &str, args: &[&str]| IncomingKind::Command {
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        };
        assert_eq!(command("/start ABC"), cmd("start", &["ABC"]));
        assert_eq!(command("/Start@Essaim_Bot  a\tb\nc "), cmd("start", &["a", "b", "c"]));
        assert_eq!(command("/aide"), cmd("aide", &[]));
        assert_eq!(command("/mes_lots@essaim_bot"), cmd("mes_lots", &[]));
        assert_eq!(command("/"), IncomingKind::Text("/".into()));
        assert_eq!(command("/ 12"), IncomingKind::Text("/ 12".into()));
        assert_eq!(command("/@bot"), IncomingKind::Text("/@bot".into()));
        assert_eq!(command("12,5"), IncomingKind::Text("12,5".into()));
    }
}
