//! The command menu Telegram shows beside the text field (`setMyCommands`): French by default, English
//! for users whose app is in English, names and descriptions from the engine's own commands.

use essaim_chat::Command;
use essaim_core::Lang;
use teloxide::Bot;
use teloxide::payloads::SetMyCommandsSetters;
use teloxide::prelude::Requester;
use teloxide::types::BotCommand;

/// The menu in `lang`: every command under its name in that language.
pub fn menu(lang: Lang) -> Vec<BotCommand> {
    Command::ALL
        .iter()
        .map(|(command, _)| {
            let name = match lang {
                Lang::Fr => command.french(),
                Lang::En => command.english(),
            };
            BotCommand::new(name, command.description(lang))
        })
        .collect()
}

/// Sets the menus: French for everyone, English for `language_code` « en ». A failure is logged and
/// leaves the bot working (the menu is a convenience; every command is typed as well).
pub async fn set_menus(bot: &Bot) {
    let french = bot.set_my_commands(menu(Lang::Fr));
    let english = bot.set_my_commands(menu(Lang::En)).language_code("en");
    for (request, which) in [(french.await, "default (fr)"), (english.await, "en")] {
        if let Err(error) = request {
            tracing::warn!(%error, menu = which, "could not set the Telegram command menu");
        }
    }
}
