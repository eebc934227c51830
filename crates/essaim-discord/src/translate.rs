//! Discord interaction -> engine input. Pure: no I/O.

use essaim_chat::{ChatKind, Incoming, IncomingKind, Platform};
use serenity::model::application::{
    ActionRowComponent, CommandDataOption, CommandDataOptionValue, CommandInteraction, ComponentInteraction,
    Interaction, ModalInteraction,
};
use serenity::model::guild::Member;
use serenity::model::id::{ChannelId, GuildId, InteractionId};
use serenity::model::user::User;

use crate::QUANTITY_MARKER;
use crate::commands::spec;

/// Discord interaction -> engine input, or `None` for what the engine does not handle (PING,
/// autocomplete, interactions of bots).
///
/// - `update_id` = the interaction id; `user_id` = `member.user` (in a server) or `user` (in DMs);
///   `chat_id` = the channel id; `chat` = [`ChatKind::Shared`] in a server (`guild_id` set; every
///   interaction's answer may be ephemeral: `private_notice`), else [`ChatKind::Private`]; `language` = the interaction's `locale` (`fr`, `en-US`);
/// - slash command -> [`IncomingKind::Command`] with the name as invoked (English, or French when
///   the user's client shows the French names) and the option values in the order the command
///   declares them, as strings (numbers formatted plainly: `12`, `12.5`);
/// - button -> [`IncomingKind::Button`] with the `custom_id` and the id of the message that carries it;
///   a button with the quantity marker `q|` -> [`IncomingKind::OpenForm`] with the data after it (may
///   its form open?);
/// - modal submit -> [`IncomingKind::Form`] with the modal's `custom_id` and the first text input.
pub fn translate(interaction: &Interaction) -> Option<Incoming> {
    match interaction {
        Interaction::Command(command) => Some(translate_command(command)?),
        Interaction::Component(component) => translate_component(component),
        Interaction::Modal(modal) => translate_modal(modal),
        Interaction::Ping(_) | Interaction::Autocomplete(_) => None,
        _ => None,
    }
}

fn translate_command(command: &CommandInteraction) -> Option<Incoming> {
    let name = command.data.name.clone();
    let args = ordered_args(&name, &command.data.options);
    let kind = IncomingKind::Command { name, args };
    let at = Place { channel: command.channel_id, guild: command.guild_id };
    incoming(command.id, &command.user, command.member.as_deref(), at, &command.locale, kind)
}

/// Option values in the command's declared order, then any the command does not declare.
fn ordered_args(name: &str, options: &[CommandDataOption]) -> Vec<String> {
    let mut remaining: Vec<&CommandDataOption> = options.iter().collect();
    let mut args = Vec::with_capacity(options.len());
    if let Some(spec) = spec(name) {
        for declared in spec.options {
            if let Some(at) = remaining.iter().position(|o| o.name == declared.name || o.name == declared.french)
                && let Some(value) = value_text(&remaining.remove(at).value)
            {
                args.push(value);
            }
        }
    }
    args.extend(remaining.into_iter().filter_map(|o| value_text(&o.value)));
    args
}

fn value_text(value: &CommandDataOptionValue) -> Option<String> {
    Some(match value {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(i) => i.to_string(),
        // `Display` of f64 is plain decimal: 12 -> "12", 12.5 -> "12.5", never `1e3`.
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::User(id) => id.get().to_string(),
        CommandDataOptionValue::Channel(id) => id.get().to_string(),
        CommandDataOptionValue::Role(id) => id.get().to_string(),
        CommandDataOptionValue::Mentionable(id) => id.get().to_string(),
        CommandDataOptionValue::Attachment(id) => id.get().to_string(),
        CommandDataOptionValue::Autocomplete { value, .. } => value.clone(),
        _ => return None,
    })
}

fn translate_component(component: &ComponentInteraction) -> Option<Incoming> {
    let custom_id = &component.data.custom_id;
    let kind = match custom_id.strip_prefix(QUANTITY_MARKER) {
        Some(data) => IncomingKind::OpenForm { data: data.to_owned() },
        None => {
            IncomingKind::Button { data: custom_id.clone(), message_id: Some(component.message.id.get().to_string()) }
        }
    };
    let at = Place { channel: component.channel_id, guild: component.guild_id };
    incoming(component.id, &component.user, component.member.as_ref(), at, &component.locale, kind)
}

fn translate_modal(modal: &ModalInteraction) -> Option<Incoming> {
    let value = modal.data.components.iter().flat_map(|row| row.components.iter()).find_map(|c| match c {
        ActionRowComponent::InputText(input) => Some(input.value.clone().unwrap_or_default()),
        _ => None,
    })?;
    let kind = IncomingKind::Form { data: modal.data.custom_id.clone(), value };
    let at = Place { channel: modal.channel_id, guild: modal.guild_id };
    incoming(modal.id, &modal.user, modal.member.as_ref(), at, &modal.locale, kind)
}

/// Where an interaction happened: a server's channel (`guild`), else a DM.
struct Place {
    channel: ChannelId,
    guild: Option<GuildId>,
}

fn incoming(
    id: InteractionId,
    user: &User,
    member: Option<&Member>,
    at: Place,
    locale: &str,
    kind: IncomingKind,
) -> Option<Incoming> {
    let user = member.map_or(user, |m| &m.user);
    if user.bot {
        return None;
    }
    let user_name = member
        .and_then(|m| m.nick.clone())
        .or_else(|| user.global_name.clone())
        .filter(|n| !n.trim().is_empty())
        .or_else(|| Some(user.name.clone()).filter(|n| !n.trim().is_empty()));
    let locale = locale.trim();
    Some(Incoming {
        platform: Platform::Discord,
        update_id: id.get().to_string(),
        user_id: user.id.get().to_string(),
        chat_id: at.channel.get().to_string(),
        // A server's channel is read by its members; a DM (no guild) by the user and the bot only.
        chat: if at.guild.is_some() { ChatKind::Shared { private_notice: true } } else { ChatKind::Private },
        user_name,
        language: (!locale.is_empty()).then(|| locale.to_owned()),
        kind,
    })
}
