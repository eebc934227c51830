//! The slash commands (DESIGN §4) and their registration.

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

/// One command: English name, French name, descriptions, options in declared order.
pub(crate) struct CommandSpec {
    pub name: &'static str,
    pub french: &'static str,
    pub description_fr: &'static str,
    pub description_en: &'static str,
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
        name: "start",
        french: "demarrer",
        description_fr: "Rejoindre essaim avec votre code d'invitation",
        description_en: "Join essaim with your invitation code",
        options: &[text("code", "code", "Le code d'invitation reçu", "The invitation code you received")],
    },
    CommandSpec {
        name: "help",
        french: "aide",
        description_fr: "Ce que vous pouvez faire ici",
        description_en: "What you can do here",
        options: &[],
    },
    CommandSpec {
        name: "tenders",
        french: "appels",
        description_fr: "Les appels d'offres en cours",
        description_en: "Open tenders",
        options: &[],
    },
    CommandSpec {
        name: "allocate",
        french: "repartir",
        description_fr: "Calculer et proposer la répartition des lots",
        description_en: "Compute and offer the allocation of the lots",
        options: &[REF],
    },
    CommandSpec {
        name: "status",
        french: "etat",
        description_fr: "Où en est un appel d'offres",
        description_en: "Where a tender stands",
        options: &[REF],
    },
    CommandSpec {
        name: "lots",
        french: "mes_lots",
        description_fr: "Vos lots et vos propositions en attente",
        description_en: "Your lots and pending offers",
        options: &[],
    },
    CommandSpec {
        name: "capacity",
        french: "capacite",
        description_fr: "Voir ce qui est libre, ou déclarer votre capacité dans un secteur",
        description_en: "See what is free, or declare your capacity in a sector",
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
    CommandSpec {
        name: "remind",
        french: "relancer",
        description_fr: "Relancer les coopératives qui n'ont pas répondu",
        description_en: "Remind the cooperatives that have not answered",
        options: &[REF],
    },
    CommandSpec {
        name: "send",
        french: "envoyer",
        description_fr: "Envoyer la proposition du groupement à l'acheteur",
        description_en: "Send the groupement's proposal to the buyer",
        options: &[REF],
    },
    CommandSpec {
        name: "invite",
        french: "inviter",
        description_fr: "Ajouter une structure au groupement pour un appel (couvrir un manque)",
        description_en: "Add a structure to the groupement for one tender (to fill a shortfall)",
        options: &[text("siret", "siret", "Le SIRET de la structure", "The structure's SIRET"), REF],
    },
    CommandSpec {
        name: "price",
        french: "tarif",
        description_fr: "Déclarer votre prix HT par unité dans un secteur",
        description_en: "Declare your price per unit excl. VAT in a sector",
        options: &[
            text("sector", "secteur", "Le secteur (ex. nettoyage)", "The sector (e.g. cleaning)"),
            text("price", "prix", "Le prix HT par unité, ou « aucun »", "The price per unit excl. VAT, or « none »"),
        ],
    },
    CommandSpec {
        name: "lead",
        french: "mandataire",
        description_fr: "Désigner le mandataire d'un groupement constitué pour l'appel",
        description_en: "Name the lead of a groupement formed for the tender",
        options: &[REF, text("siret", "siret", "Le SIRET du mandataire", "The lead's SIRET")],
    },
    CommandSpec {
        name: "close",
        french: "clore",
        description_fr: "Clore la campagne maintenant (les offres sans réponse sont retirées)",
        description_en: "Close the campaign now (unanswered offers are withdrawn)",
        options: &[REF],
    },
    CommandSpec {
        name: "invite_all",
        french: "inviter_tous",
        description_fr: "Inviter par courriel les structures d'un groupement sans compte relié",
        description_en: "Invite by e-mail a groupement's structures without a linked account",
        options: &[text(
            "groupement",
            "groupement",
            "Le code du groupement (ex. G-LYON)",
            "The groupement's code (e.g. G-LYON)",
        )],
    },
    CommandSpec {
        name: "withdraw",
        french: "retirer",
        description_fr: "Demander à rendre un lot accepté (le facilitateur confirme)",
        description_en: "Ask to give back an accepted lot (the facilitator confirms)",
        options: &[
            REF,
            text("lot", "lot", "Le numéro du lot (offre n°)", "The lot's number (offer #)"),
            text("reason", "motif", "Pourquoi", "Why"),
        ],
    },
    CommandSpec {
        name: "forget",
        french: "oublier",
        description_fr: "Délier ce compte et effacer vos données (après confirmation)",
        description_en: "Unlink this account and erase your data (after confirmation)",
        options: &[],
    },
    CommandSpec {
        name: "reply",
        french: "repondre",
        description_fr: "Répondre à la question d'une structure sur une offre",
        description_en: "Answer a structure's question about an offer",
        options: &[
            REF,
            text("offer", "offre", "Le numéro de l'offre", "The offer's number"),
            text("text", "texte", "Votre réponse", "Your answer"),
        ],
    },
    CommandSpec {
        name: "members",
        french: "membres",
        description_fr: "Les structures d'un appel et comment les joindre",
        description_en: "A tender's structures and how to reach them",
        options: &[REF],
    },
];

/// The command invoked as `name` (English or French).
pub(crate) fn spec(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name || c.french == name)
}

/// The slash commands (DESIGN §4): `start(code)`, `help`, `tenders`, `allocate(ref)`,
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
            CreateCommand::new(spec.name)
                .name_localized("fr", spec.french)
                .description(spec.description_fr)
                .description_localized("en-US", spec.description_en)
                .description_localized("en-GB", spec.description_en)
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
            assert_eq!(found.french, command.french(), "{names:?}");
        }
        assert_eq!(json[9]["name_localizations"]["fr"], "inviter");
        assert_eq!(json[9]["options"][0]["required"], true);
        assert_eq!(json[6]["options"][0]["required"], false, "/capacite alone lists what is free");
        assert_eq!(spec("envoyer").map(|s| s.name), Some("send"));
        assert_eq!(json[6]["name_localizations"]["fr"], "capacite");
        assert_eq!(json[6]["options"][1]["type"], 10);
        assert_eq!(spec("mes_lots").map(|s| s.name), Some("lots"));
    }
}
