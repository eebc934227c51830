//! The slash commands (docs/ARCHITECTURE.md, « Interfaces other programs rely on ») and their registration.

use essaim_chat::Command;
use essaim_core::Lang;
use serenity::all::CommandOptionType;
use serenity::builder::{CreateCommand, CreateCommandOption};
use serenity::http::Http;
use serenity::model::id::ApplicationId;

use crate::DiscordError;

/// One option of a command.
pub(crate) struct OptionSpec {
    pub name: &'static str,
    pub french: &'static str,
    pub kind: CommandOptionType,
    pub description_fr: &'static str,
    pub description_en: &'static str,
    /// Whether Discord insists on it (`/capacite` alone lists the capacities, so its options are not).
    pub required: bool,
}

/// One command of the engine (its names and description come from there) and its options in declared
/// order.
pub(crate) struct CommandSpec {
    pub command: Command,
    pub options: &'static [OptionSpec],
}

const fn text(
    name: &'static str,
    french: &'static str,
    description_fr: &'static str,
    description_en: &'static str,
) -> OptionSpec {
    OptionSpec { name, french, kind: CommandOptionType::String, description_fr, description_en, required: true }
}

const REF: OptionSpec =
    text("ref", "ref", "Référence de l'appel d'offres (ex. T-2026-014)", "Tender reference (e.g. T-2026-014)");

pub(crate) const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        command: Command::Start,
        options: &[text("code", "code", "Le code d'invitation reçu", "The invitation code you received")],
    },
    CommandSpec { command: Command::Help, options: &[] },
    CommandSpec { command: Command::Tenders, options: &[] },
    CommandSpec { command: Command::Allocate, options: &[REF] },
    CommandSpec { command: Command::Status, options: &[REF] },
    CommandSpec { command: Command::Lots, options: &[] },
    CommandSpec {
        command: Command::Capacity,
        options: &[
            OptionSpec {
                required: false,
                ..text("sector", "secteur", "Le secteur (ex. nettoyage)", "The sector (e.g. cleaning)")
            },
            OptionSpec {
                name: "quantity",
                french: "quantite",
                kind: CommandOptionType::Number,
                description_fr: "La quantité que vous pouvez prendre",
                description_en: "The quantity you can take",
                required: false,
            },
        ],
    },
    CommandSpec { command: Command::Remind, options: &[REF] },
    CommandSpec { command: Command::Send, options: &[REF] },
    CommandSpec {
        command: Command::Invite,
        options: &[text("siret", "siret", "Le SIRET de la structure", "The structure's SIRET"), REF],
    },
    CommandSpec {
        command: Command::Price,
        options: &[
            text("sector", "secteur", "Le secteur (ex. nettoyage)", "The sector (e.g. cleaning)"),
            text("price", "prix", "Le prix HT par unité, ou « aucun »", "The price per unit excl. VAT, or « none »"),
        ],
    },
    CommandSpec {
        command: Command::Lead,
        options: &[REF, text("siret", "siret", "Le SIRET du mandataire", "The lead's SIRET")],
    },
    CommandSpec { command: Command::Close, options: &[REF] },
    CommandSpec {
        command: Command::InviteAll,
        options: &[text(
            "groupement",
            "groupement",
            "Le code du groupement (ex. G-LYON)",
            "The groupement's code (e.g. G-LYON)",
        )],
    },
    CommandSpec {
        command: Command::Withdraw,
        options: &[
            REF,
            text("lot", "lot", "Le numéro du lot (offre n°)", "The lot's number (offer #)"),
            text("reason", "motif", "Pourquoi", "Why"),
        ],
    },
    CommandSpec { command: Command::Forget, options: &[] },
    CommandSpec {
        command: Command::Reply,
        options: &[
            REF,
            text("offer", "offre", "Le numéro de l'offre", "The offer's number"),
            text("text", "texte", "Votre réponse", "Your answer"),
        ],
    },
    CommandSpec { command: Command::Members, options: &[REF] },
];

/// The command invoked as `name` (English or French).
pub(crate) fn spec(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.command.english() == name || c.command.french() == name)
}

/// The slash commands (docs/ARCHITECTURE.md, interfaces): `start(code)`, `help`, `tenders`, `allocate(ref)`,
/// `status(ref)`, `lots`, `capacity([sector, quantity])`, `remind(ref)`, `send(ref)`, `invite(siret, ref)`,
/// `price(sector, price)`, `lead(ref, siret)`, `members(ref)`. English names with French `name_localizations` (`demarrer`,
/// `aide`, `appels`, `repartir`, `etat`, `mes_lots`, `capacite`, `relancer`, `envoyer`, `inviter`, `tarif`,
/// `mandataire`, `membres`) and French descriptions with English
/// `description_localizations`. Every option is required but capacity's.
pub fn commands() -> Vec<CreateCommand> {
    COMMANDS
        .iter()
        .map(|spec| {
            let options = spec
                .options
                .iter()
                .map(|o| {
                    CreateCommandOption::new(o.kind, o.name, o.description_fr)
                        .name_localized("fr", o.french)
                        .description_localized("en-US", o.description_en)
                        .description_localized("en-GB", o.description_en)
                        .required(o.required)
                })
                .collect();
            let command = spec.command;
            CreateCommand::new(command.english())
                .name_localized("fr", command.french())
                .description(command.description(Lang::Fr))
                .description_localized("en-US", command.description(Lang::En))
                .description_localized("en-GB", command.description(Lang::En))
                .set_options(options)
        })
        .collect()
}

/// Replaces the application's global commands with [`commands`] (one bulk overwrite: commands no
/// longer declared disappear). Global commands may take up to an hour to show in every client.
pub async fn register_commands(http: &Http, application_id: u64) -> Result<(), DiscordError> {
    if application_id == 0 {
        return Err(DiscordError::MissingApplicationId);
    }
    http.set_application_id(ApplicationId::new(application_id));
    let registered = http.create_global_commands(&commands()).await.map_err(|e| DiscordError::Api(e.to_string()))?;
    tracing::info!(count = registered.len(), "Discord slash commands registered");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_command_with_its_french_name() {
        let json = serde_json::to_value(commands()).expect("serialisable");
        let names: Vec<_> = json.as_array().into_iter().flatten().map(|c| c["name"].clone()).collect();
        assert_eq!(
            names,
            [
                "start",
                "help",
                "tenders",
                "allocate",
                "status",
                "lots",
                "capacity",
                "remind",
                "send",
                "invite",
                "price",
                "lead",
                "close",
                "invite_all",
                "withdraw",
                "forget",
                "reply",
                "members"
            ]
        );
        // One slash command per engine command, under the same names: Discord only translates.
        for (command, names) in essaim_chat::Command::ALL {
            let found = spec(command.english()).unwrap_or_else(|| panic!("no slash command for {names:?}"));
            assert_eq!(found.command, command, "{names:?}");
        }
        assert_eq!(json[9]["name_localizations"]["fr"], "inviter");
        assert_eq!(json[9]["options"][0]["required"], true);
        assert_eq!(json[6]["options"][0]["required"], false, "/capacite alone lists what is free");
        assert_eq!(spec("envoyer").map(|s| s.command.english()), Some("send"));
        assert_eq!(json[6]["name_localizations"]["fr"], "capacite");
        assert_eq!(json[6]["options"][1]["type"], 10);
        assert_eq!(spec("mes_lots").map(|s| s.command.english()), Some("lots"));
    }
}
