//! Everything the engine says, in French (default) and English. Written for someone on a phone: short,
//! concrete (quantity, unit, place, distance, date), one idea per line.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
pub use essaim_core::{Lang, Role};
use std::collections::BTreeMap;

use essaim_core::{
    Holding, HoldingState, LineCoverage, Offer, OfferState, Scope, ShortfallCause, Tender, TenderLine, Uncovered,
    format_number, format_quantity,
};

use crate::campaigns::Suggestion;
use crate::command::Command;

/// Picks the language of a user: the one stored with their account, else the one their app reports,
/// else the default. Only `en…` switches to English: essaim speaks French first.
pub fn lang_of(stored: Option<&str>, reported: Option<&str>, default: Lang) -> Lang {
    match stored.or(reported).map(|l| l.to_ascii_lowercase()) {
        Some(l) if l.starts_with("en") => Lang::En,
        Some(l) if l.starts_with("fr") => Lang::Fr,
        _ => default,
    }
}

/// The texts for one reader.
#[derive(Debug, Clone, Copy)]
pub struct Texts {
    pub lang: Lang,
    pub tz: Tz,
}

/// How many names of structures with unknown capacity `/etat` and the launch note show before « et K autres ».
pub const UNKNOWN_CAPACITY_NAMES: usize = 10;

macro_rules! say {
    ($self:expr, $fr:expr, $en:expr) => {
        match $self.lang {
            Lang::Fr => $fr,
            Lang::En => $en,
        }
    };
}

/// Where to send `/start CODE` so that only the user and the bot read what follows.
fn private_place(platform: crate::Platform) -> (&'static str, &'static str) {
    match platform {
        crate::Platform::Discord => (
            "en message privé au bot (clic sur son nom, puis « Envoyer un message »)",
            "in a direct message to the bot (click its name, then « Message »)",
        ),
        _ => ("en conversation privée avec le bot", "in a private chat with the bot"),
    }
}

impl Texts {
    pub fn new(lang: Lang, tz: Tz) -> Self {
        Self { lang, tz }
    }

    pub fn qty(&self, q: f64) -> String {
        format_quantity(q, self.lang)
    }

    fn km(&self, d: f64) -> String {
        format!("{} km", format_number(d, 1, self.lang))
    }

    pub fn date(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.tz);
        say!(self, local.format("%d/%m à %H:%M").to_string(), local.format("%d %b, %H:%M").to_string())
    }

    fn command(&self, c: Command) -> String {
        say!(self, format!("/{}", c.french()), format!("/{}", c.english()))
    }

    /// What a line is called: its title, else its sector and id.
    pub fn line_name(&self, line: &TenderLine) -> String {
        match &line.title {
            Some(title) => format!("{title} ({})", line.id),
            None => format!("{} ({})", line.sector, line.id),
        }
    }

    pub fn help(&self, role: Option<Role>) -> String {
        let c = |cmd| self.command(cmd);
        let mut lines = vec![say!(self, "essaim — commandes :".to_owned(), "essaim — commands:".to_owned())];
        match role {
            None => lines.push(say!(
                self,
                "/start CODE — relier ce compte avec le code d'invitation reçu de votre facilitateur".to_owned(),
                "/start CODE — link this account with the invite code your facilitator gave you".to_owned()
            )),
            Some(Role::Supplier) => {
                lines.push(say!(
                    self,
                    format!("{} REF N MOTIF — demander à rendre un lot accepté", c(Command::Withdraw)),
                    format!("{} REF N REASON — ask to give back an accepted lot", c(Command::Withdraw))
                ));
                lines.push(say!(
                    self,
                    format!(
                        "{} — vos engagements sur tous les appels, et vos offres en attente avec les boutons",
                        c(Command::Lots)
                    ),
                    format!(
                        "{} — your commitments on every tender, and your open offers with buttons",
                        c(Command::Lots)
                    )
                ));
                lines.push(say!(
                    self,
                    format!("{} — votre capacité par secteur et ce qui en est libre", c(Command::Capacity)),
                    format!("{} — your capacity per sector and how much of it is free", c(Command::Capacity))
                ));
                lines.push(say!(
                    self,
                    format!(
                        "{} SECTEUR PRIX — votre prix HT par unité (ex. {} nettoyage 26,50)",
                        c(Command::Price),
                        c(Command::Price)
                    ),
                    format!(
                        "{} SECTOR PRICE — your price per unit excl. VAT (e.g. {} nettoyage 26.50)",
                        c(Command::Price),
                        c(Command::Price)
                    )
                ));
                lines.push(say!(
                    self,
                    format!(
                        "{} SECTEUR QUANTITÉ — mettre à jour votre capacité (ex. {} nettoyage 120)",
                        c(Command::Capacity),
                        c(Command::Capacity)
                    ),
                    format!(
                        "{} SECTOR QTY — update your capacity (e.g. {} nettoyage 120)",
                        c(Command::Capacity),
                        c(Command::Capacity)
                    )
                ));
                lines.push(say!(
                    self,
                    format!("{} — les appels en cours", c(Command::Tenders)),
                    format!("{} — current tenders", c(Command::Tenders))
                ));
            }
            Some(Role::Facilitator) => {
                lines.push(say!(
                    self,
                    format!("{} — les appels et leur campagne", c(Command::Tenders)),
                    format!("{} — tenders and their campaign", c(Command::Tenders))
                ));
                lines.push(say!(
                    self,
                    format!("{} REF — répartir l'appel et envoyer les offres", c(Command::Allocate)),
                    format!("{} REF — allocate the tender and send the offers", c(Command::Allocate))
                ));
                lines.push(say!(
                    self,
                    format!("{} REF — où en est chaque ligne", c(Command::Status)),
                    format!("{} REF — where each line stands", c(Command::Status))
                ));
                lines.push(say!(
                    self,
                    format!("{} REF — relancer les structures qui n'ont pas répondu", c(Command::Remind)),
                    format!("{} REF — remind the structures that have not answered", c(Command::Remind))
                ));
                lines.push(say!(
                    self,
                    format!("{} REF — envoyer la proposition du groupement à l'acheteur", c(Command::Send)),
                    format!("{} REF — send the groupement's proposal to the buyer", c(Command::Send))
                ));
                lines.push(say!(
                    self,
                    format!("{} REF N TEXTE — répondre à la question d'une structure sur une offre", c(Command::Reply)),
                    format!("{} REF N TEXT — answer a structure's question about an offer", c(Command::Reply))
                ));
                lines.push(say!(
                    self,
                    format!(
                        "{} GROUPEMENT — inviter par courriel les structures sans compte relié",
                        c(Command::InviteAll)
                    ),
                    format!(
                        "{} GROUPEMENT — invite by e-mail the structures without a linked account",
                        c(Command::InviteAll)
                    )
                ));
                lines.push(say!(
                    self,
                    format!(
                        "{} REF — clore la campagne maintenant (les offres sans réponse sont retirées)",
                        c(Command::Close)
                    ),
                    format!("{} REF — close the campaign now (unanswered offers are withdrawn)", c(Command::Close))
                ));
                lines.push(say!(
                    self,
                    format!("{} REF — les structures de l'appel et comment les joindre", c(Command::Members)),
                    format!("{} REF — the tender's structures and how to reach them", c(Command::Members))
                ));
                lines.push(say!(
                    self,
                    format!(
                        "{} REF SIRET — désigner le mandataire d'un groupement constitué pour l'appel",
                        c(Command::Lead)
                    ),
                    format!("{} REF SIRET — name the lead of a groupement formed for the tender", c(Command::Lead))
                ));
                lines.push(say!(
                    self,
                    format!(
                        "{} SIRET REF — ajouter une structure au groupement pour cet appel (couvrir un manque)",
                        c(Command::Invite)
                    ),
                    format!(
                        "{} SIRET REF — add a structure to the groupement for this tender (to fill a shortfall)",
                        c(Command::Invite)
                    )
                ));
            }
            Some(Role::Buyer) => lines.push(say!(
                self,
                "Vous recevrez ici la proposition du groupement.".to_owned(),
                "You will receive the groupement's proposal here.".to_owned()
            )),
        }
        if role.is_some() {
            lines.push(say!(
                self,
                format!("{} — délier ce compte et effacer vos données", c(Command::Forget)),
                format!("{} — unlink this account and erase your data", c(Command::Forget))
            ));
        }
        lines.push(say!(
            self,
            format!("{} — cette aide", c(Command::Help)),
            format!("{} — this help", c(Command::Help))
        ));
        lines.join("\n")
    }

    pub fn unknown_command(&self, name: &str, role: Option<Role>) -> String {
        say!(
            self,
            format!("Commande inconnue : /{name}.\n\n{}", self.help(role)),
            format!("Unknown command: /{name}.\n\n{}", self.help(role))
        )
    }

    pub fn not_understood(&self, role: Option<Role>) -> String {
        say!(
            self,
            format!("Je n'ai pas compris.\n\n{}", self.help(role)),
            format!("I did not understand.\n\n{}", self.help(role))
        )
    }

    pub fn usage(&self, c: Command) -> String {
        let cmd = self.command(c);
        match c {
            Command::Start => say!(self, "Usage : /start CODE".to_owned(), "Usage: /start CODE".to_owned()),
            Command::Capacity => say!(
                self,
                format!("Usage : {cmd} SECTEUR QUANTITÉ, par exemple {cmd} nettoyage 120"),
                format!("Usage: {cmd} SECTOR QTY, for example {cmd} nettoyage 120")
            ),
            Command::Invite => say!(
                self,
                format!("Usage : {cmd} SIRET REF, par exemple {cmd} 76004450300042 T-2026-014"),
                format!("Usage: {cmd} SIRET REF, for example {cmd} 76004450300042 T-2026-014")
            ),
            Command::Price => say!(
                self,
                format!("Usage : {cmd} SECTEUR PRIX, par exemple {cmd} nettoyage 26,50 (€ HT par heure)"),
                format!("Usage: {cmd} SECTOR PRICE, for example {cmd} nettoyage 26.50 (€ excl. VAT per hour)")
            ),
            Command::Reply => say!(
                self,
                format!("Usage : {cmd} REF N RÉPONSE, par exemple {cmd} T-2026-014 7 oui, le matériel est fourni"),
                format!("Usage: {cmd} REF N ANSWER, for example {cmd} T-2026-014 7 yes, equipment is provided")
            ),
            Command::Withdraw => say!(
                self,
                format!("Usage : {cmd} REF N MOTIF, par exemple {cmd} T-2026-014 7 véhicule en panne"),
                format!("Usage: {cmd} REF N REASON, for example {cmd} T-2026-014 7 van broken down")
            ),
            Command::InviteAll => say!(
                self,
                format!("Usage : {cmd} GROUPEMENT, par exemple {cmd} G-LYON"),
                format!("Usage: {cmd} GROUPEMENT, for example {cmd} G-LYON")
            ),
            Command::Lead => say!(
                self,
                format!("Usage : {cmd} REF SIRET, par exemple {cmd} T-2026-014 76694666900070"),
                format!("Usage: {cmd} REF SIRET, for example {cmd} T-2026-014 76694666900070")
            ),
            _ => say!(
                self,
                format!("Usage : {cmd} REF, par exemple {cmd} T-2026-014"),
                format!("Usage: {cmd} REF, for example {cmd} T-2026-014")
            ),
        }
    }

    /// The buyer's message that goes with the proposal document.
    pub fn proposal_for_buyer(&self, p: &essaim_core::Proposal) -> String {
        let lang = self.lang;
        let coverage: Vec<String> = p
            .totals
            .coverage_by_unit
            .iter()
            .map(|(unit, c)| {
                format!("{} / {} {unit}", format_quantity(c.covered, lang), format_quantity(c.tendered, lang))
            })
            .collect();
        let lead =
            p.lead().map_or_else(|| say!(self, "à désigner".to_owned(), "to be named".to_owned()), |m| m.name.clone());
        let partly = if p.totals.fully_priced {
            ""
        } else {
            say!(self, " (lignes à prix connu)", " (lines with a known price)")
        };
        let ttc = p
            .totals
            .amount_incl_vat
            .map(|t| {
                say!(
                    self,
                    format!(" · {} € TTC", format_number(t, 2, lang)),
                    format!(" · €{} incl. VAT", format_number(t, 2, lang))
                )
            })
            .unwrap_or_default();
        let amount = p.totals.amount.map(|a| format!("{} €{partly}{ttc}", format_number(a, 2, lang)));
        let short: Vec<String> = p
            .shortfall
            .iter()
            .map(|s| format!("• {} : {} {} — {}", s.line, format_quantity(s.quantity, lang), s.unit, s.reason))
            .collect();
        let draft = p.status == essaim_core::ProposalStatus::Draft;
        let mut text = say!(
            self,
            format!(
                "📄 Proposition {}du groupement {} pour {} — {}\nMandataire : {lead}\nStructures : {} · micro-lots : {}\nCouverture : {}{}",
                if draft { "provisoire " } else { "" },
                p.groupement.name,
                p.tender.reference,
                p.tender.title,
                p.totals.members,
                p.totals.lots,
                coverage.join(" · "),
                amount.as_ref().map(|a| format!("\nMontant HT : {a}")).unwrap_or_default()
            ),
            format!(
                "📄 {}Proposal of groupement {} for {} — {}\nLead: {lead}\nStructures: {} · micro-lots: {}\nCoverage: {}{}",
                if draft { "Draft " } else { "" },
                p.groupement.name,
                p.tender.reference,
                p.tender.title,
                p.totals.members,
                p.totals.lots,
                coverage.join(" · "),
                amount.as_ref().map(|a| format!("\nAmount excl. VAT: {a}")).unwrap_or_default()
            )
        );
        if !short.is_empty() {
            text.push_str(&say!(self, "\nNon couvert :\n".to_owned(), "\nNot covered:\n".to_owned()));
            text.push_str(&short.join("\n"));
        }
        text.push_str(&say!(
            self,
            "\nLe détail (lots, engagements, impact social) est dans le document joint.".to_owned(),
            "\nThe details (lots, commitments, social impact) are in the attached document.".to_owned()
        ));
        text
    }

    /// The facilitator's note once a proposal went out.
    pub fn proposal_sent(&self, reference: &str, buyers: usize, link: Option<&str>) -> String {
        let mut text = if buyers == 0 {
            say!(
                self,
                format!(
                    "Aucun compte acheteur n'est relié pour {reference} : voici la proposition, à transmettre vous-même (essaim invite --buyer SIRET pour relier l'acheteur)."
                ),
                format!(
                    "No buyer account is linked for {reference}: here is the proposal, to pass on yourself (essaim invite --buyer SIRET links the buyer)."
                )
            )
        } else {
            say!(
                self,
                format!("Proposition de {reference} envoyée à l'acheteur ({buyers} compte(s))."),
                format!("Proposal of {reference} sent to the buyer ({buyers} account(s)).")
            )
        };
        if let Some(link) = link {
            text.push_str(&say!(self, format!("\nLien : {link}"), format!("\nLink: {link}")));
        }
        text
    }

    pub fn no_proposal_yet(&self, reference: &str) -> String {
        say!(
            self,
            format!(
                "Pas encore de proposition pour {reference} : lancez d'abord la campagne ({} {reference}).",
                self.command(Command::Allocate)
            ),
            format!(
                "No proposal for {reference} yet: launch the campaign first ({} {reference}).",
                self.command(Command::Allocate)
            )
        )
    }

    pub fn not_linked(&self) -> String {
        say!(
            self,
            "Ce compte n'est relié à aucune structure. Demandez un code d'invitation à votre facilitateur, puis envoyez /start CODE.".to_owned(),
            "This account is not linked yet. Ask your facilitator for an invite code, then send /start CODE.".to_owned()
        )
    }

    /// `/start CODE` sent where others read: linking there would send offers there.
    pub fn start_in_private(&self, platform: crate::Platform) -> String {
        let (fr, en) = private_place(platform);
        say!(
            self,
            format!(
                "🔒 Votre compte n'a pas été relié : ici, d'autres lisent. Envoyez /start CODE {fr} ; vos offres arriveront là."
            ),
            format!(
                "🔒 Your account was not linked: others read this chat. Send /start CODE {en}; your offers will arrive there."
            )
        )
    }

    /// An account linked, before linking asked for a private chat, in a chat others read: its offers still
    /// arrive there.
    pub fn linked_in_shared_chat(&self, platform: crate::Platform) -> String {
        let (fr, en) = private_place(platform);
        say!(
            self,
            format!(
                "⚠️ Votre compte est relié à cette conversation, que d'autres lisent : vos offres y arrivent. Demandez un nouveau code à votre facilitateur et envoyez /start CODE {fr}."
            ),
            format!(
                "⚠️ Your account is linked to this chat, which others read: your offers arrive here. Ask your facilitator for a new code and send /start CODE {en}."
            )
        )
    }

    /// What a user who asked in a shared chat reads there: the answer went to their private chat.
    pub fn answered_privately(&self) -> String {
        say!(self, "📬 Réponse envoyée en message privé.".to_owned(), "📬 Answer sent as a private message.".to_owned())
    }

    pub fn facilitators_only(&self) -> String {
        say!(
            self,
            "⛔ Cette commande est réservée aux facilitateurs. Rien n'a été modifié.".to_owned(),
            "⛔ This command is for facilitators only. Nothing was changed.".to_owned()
        )
    }

    pub fn suppliers_only(&self) -> String {
        say!(
            self,
            "⛔ Cette commande est réservée aux structures inclusives (SIAE, GEIQ, ESAT, EA…). Rien n'a été modifié."
                .to_owned(),
            "⛔ This command is for inclusive supplier structures only (SIAE, GEIQ, ESAT, EA…). Nothing was changed."
                .to_owned()
        )
    }

    pub fn invite_invalid(&self) -> String {
        say!(
            self,
            "⛔ Ce code d'invitation n'est pas valable (inconnu, déjà utilisé ou expiré). Demandez-en un nouveau à votre facilitateur.".to_owned(),
            "⛔ This invite code is not valid (unknown, already used or expired). Ask your facilitator for a new one.".to_owned()
        )
    }

    pub fn linked_supplier(&self, name: &str) -> String {
        say!(
            self,
            format!(
                "Bienvenue ! Ce compte est relié à {name}.\nVous recevrez ici les offres de micro-lots ; {} les affiche à tout moment.",
                self.command(Command::Lots)
            ),
            format!(
                "Welcome! This account is linked to {name}.\nOffers of micro-lots will arrive here; {} shows them at any time.",
                self.command(Command::Lots)
            )
        )
    }

    /// After linking, to a structure imported from a directory that does not give capacities: which sectors its
    /// source listed (their labels) and how to say its capacity in each.
    pub fn capacity_wanted(&self, sectors: &[String]) -> String {
        let capacity = self.command(Command::Capacity);
        let example =
            sectors.first().map_or_else(|| say!(self, "nettoyage", "cleaning").to_owned(), |s| s.to_lowercase());
        let listed = match (sectors.is_empty(), self.lang) {
            (true, Lang::Fr) => "L'annuaire d'où elle vient ne dit pas dans quels secteurs elle travaille.".to_owned(),
            (true, Lang::En) => "The directory it comes from does not say which sectors it works in.".to_owned(),
            (false, Lang::Fr) => {
                format!("Selon l'annuaire d'où elle vient, elle travaille en : {}.", sectors.join(", "))
            }
            (false, Lang::En) => {
                format!("According to the directory it comes from, it works in: {}.", sectors.join(", "))
            }
        };
        say!(
            self,
            format!(
                "📋 La capacité de votre structure n'est pas encore connue : tant qu'elle ne l'est pas, aucune offre ne \
                 peut vous être faite. {listed}\nPour chaque secteur, indiquez les heures que vous pouvez prendre : \
                 {capacity} SECTEUR QUANTITÉ (par exemple « {capacity} {example} 120 » ; 0 si vous n'en prenez pas)."
            ),
            format!(
                "📋 Your structure's capacity is not known yet: until it is, no offer can be made to you. {listed}\n\
                 For each sector, give the hours you can take: {capacity} SECTOR QUANTITY (for example \
                 « {capacity} {example} 120 »; 0 if you take none)."
            )
        )
    }

    /// After `/capacite`, the sectors its source listed that a structure has still to give (their labels).
    pub fn capacity_still_wanted(&self, sectors: &[String]) -> String {
        say!(
            self,
            format!("Encore à indiquer : {}.", sectors.join(", ")),
            format!("Still to give: {}.", sectors.join(", "))
        )
    }

    /// The structures a tender may count on whose capacity is unknown (imported, never said), for the
    /// facilitator to call: the first [`UNKNOWN_CAPACITY_NAMES`] names, then how many others.
    pub fn unknown_capacity(&self, names: &[String]) -> String {
        let shown = names.iter().take(UNKNOWN_CAPACITY_NAMES).cloned().collect::<Vec<_>>().join(", ");
        let others = names.len().saturating_sub(UNKNOWN_CAPACITY_NAMES);
        let more = match (others, self.lang) {
            (0, _) => String::new(),
            (k, Lang::Fr) => format!(" et {k} autre(s)"),
            (k, Lang::En) => format!(" and {k} other(s)"),
        };
        say!(
            self,
            format!(
                "❓ Capacité inconnue ({} structure(s), importées sans capacité : à appeler pour qu'elles la donnent \
                 avec {}) : {shown}{more}",
                names.len(),
                self.command(Command::Capacity)
            ),
            format!(
                "❓ Capacity unknown ({} structure(s), imported without one: call them to give it with {}): \
                 {shown}{more}",
                names.len(),
                self.command(Command::Capacity)
            )
        )
    }

    /// What essaim keeps about a linked account, why, for how long, and whom to ask.
    pub fn privacy_notice(&self) -> String {
        say!(
            self,
            "🔒 Vos données : essaim garde l'identifiant de ce compte, son nom affiché et sa langue, et vos réponses \
             aux offres, pour organiser les réponses groupées du réseau. Vos réponses restent dans l'historique des \
             campagnes, comme preuve des engagements pris, le temps du marché et de son contrôle. Pour une \
             question ou une copie : le facilitateur du réseau ; pour délier ce compte et effacer vos données : \
             /oublier."
                .to_owned(),
            "🔒 Your data: essaim keeps this account's id, display name and language, and your answers to offers, \
             to organise the network's grouped bids. Your answers stay in the campaigns' history, as evidence of \
             the commitments made, for the contract and its audit. For a question or a copy: the network's \
             facilitator; to unlink this account and erase your data: /forget."
                .to_owned()
        )
    }

    /// `/oublier`: what erasure does, before the person confirms. `structure` is whom the account speaks
    /// for (a structure's or buyer's name), `None` for a facilitator.
    pub fn forget_question(&self, structure: Option<&str>) -> String {
        let kept_fr = structure.map_or_else(
            || "Les actions que vous avez faites restent dans l'historique des campagnes".to_owned(),
            |s| format!("Les engagements pris restent ceux de {s}, dans l'historique des campagnes"),
        );
        let kept_en = structure.map_or_else(
            || "What you did stays in the campaigns' history".to_owned(),
            |s| format!("The commitments made stay those of {s}, in the campaigns' history"),
        );
        say!(
            self,
            format!(
                "🔒 Délier ce compte et effacer vos données ?\n\
                 • effacés : l'identifiant de ce compte, son nom affiché, sa langue et les messages qu'essaim lui \
                 a envoyés ;\n\
                 • {kept_fr}, sous un pseudonyme qui ne mène plus à vous (preuve du marché) ;\n\
                 • ensuite vous ne recevrez plus rien ici ; pour revenir, il faudra un nouveau code d'invitation."
            ),
            format!(
                "🔒 Unlink this account and erase your data?\n\
                 • erased: this account's id, display name, language and the messages essaim sent it;\n\
                 • {kept_en}, under a pseudonym that no longer leads to you (evidence of the bid);\n\
                 • you will receive nothing here afterwards; coming back takes a new invite code."
            )
        )
    }

    pub fn button_forget(&self) -> String {
        say!(self, "Oui, effacer mes données".to_owned(), "Yes, erase my data".to_owned())
    }

    pub fn button_keep_account(&self) -> String {
        say!(self, "Non, garder ce compte".to_owned(), "No, keep this account".to_owned())
    }

    pub fn forgotten(&self) -> String {
        say!(
            self,
            "🔒 C'est fait : ce compte est délié et vos données personnelles sont effacées. Pour revenir : \
             /start CODE avec un nouveau code d'invitation."
                .to_owned(),
            "🔒 Done: this account is unlinked and your personal data erased. To come back: /start CODE with a \
             new invite code."
                .to_owned()
        )
    }

    pub fn account_kept(&self) -> String {
        say!(
            self,
            "Rien n'a été effacé : ce compte reste relié.".to_owned(),
            "Nothing was erased: this account stays linked.".to_owned()
        )
    }

    pub fn not_your_button(&self) -> String {
        say!(
            self,
            "⛔ Ce bouton concerne le compte d'une autre personne. Rien n'a été modifié.".to_owned(),
            "⛔ This button is about someone else's account. Nothing was changed.".to_owned()
        )
    }

    /// To the facilitators: an account was unlinked at its owner's request; `who` is the structure or
    /// buyer it spoke for, or « un facilitateur ».
    pub fn account_forgotten(&self, platform: &str, who: &str, still_reached: bool) -> String {
        let reach_fr = if still_reached {
            "elle reste joignable par ses autres comptes".to_owned()
        } else {
            "sans autre compte relié, joignez-la autrement (/membres)".to_owned()
        };
        let reach_en = if still_reached {
            "it is still reached through its other accounts".to_owned()
        } else {
            "with no other linked account, reach it another way (/members)".to_owned()
        };
        say!(
            self,
            format!(
                "🔒 {who} : un compte {platform} a été délié à la demande de la personne (/oublier) et ses données \
                 personnelles effacées. Les engagements pris restent acquis ; {reach_fr}."
            ),
            format!(
                "🔒 {who}: a {platform} account was unlinked at its owner's request (/forget) and their personal \
                 data erased. Commitments made stand; {reach_en}."
            )
        )
    }

    pub fn a_facilitator(&self) -> String {
        say!(self, "Un facilitateur".to_owned(), "A facilitator".to_owned())
    }

    /// The welcome of a facilitator's account, with the territory it acts in.
    pub fn linked_facilitator(&self, scope: &Scope) -> String {
        let territory = self.territory(scope);
        let help = self.help(Some(Role::Facilitator));
        say!(
            self,
            format!("Bienvenue ! Ce compte a le rôle de facilitateur, territoire : {territory}.\n\n{help}"),
            format!("Welcome! This account has the facilitator role, territory: {territory}.\n\n{help}")
        )
    }

    pub fn unknown_tender(&self, reference: &str) -> String {
        say!(
            self,
            format!("Appel inconnu : {reference}. {} liste les appels.", self.command(Command::Tenders)),
            format!("Unknown tender: {reference}. {} lists the tenders.", self.command(Command::Tenders))
        )
    }

    pub fn no_tenders(&self) -> String {
        say!(self, "Aucun appel enregistré.".to_owned(), "No tender recorded.".to_owned())
    }

    /// No tender of the facilitator's territory (others may exist elsewhere).
    pub fn no_tenders_in_scope(&self, scope: &Scope) -> String {
        let territory = self.territory(scope);
        say!(
            self,
            format!("Aucun appel dans votre territoire ({territory})."),
            format!("No tender in your territory ({territory}).")
        )
    }

    /// A facilitator's territory in words: « G-LYON, département 69 ».
    pub fn territory(&self, scope: &Scope) -> String {
        match scope {
            Scope::National => say!(self, "national".to_owned(), "national".to_owned()),
            Scope::Within { groupements, departements } => {
                let dep = say!(self, "département", "département");
                groupements
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .chain(departements.iter().map(|d| format!("{dep} {d}")))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }

    /// A tender outside the facilitator's territory: its reference (which they typed) and nothing of it.
    pub fn tender_outside_scope(&self, reference: &str, scope: &Scope) -> String {
        let territory = self.territory(scope);
        say!(
            self,
            format!(
                "⛔ L'appel {reference} n'est pas dans votre territoire ({territory}). Rien n'a été modifié : un \
                 facilitateur de son territoire, ou national, peut s'en charger."
            ),
            format!(
                "⛔ Tender {reference} is outside your territory ({territory}). Nothing was changed: a facilitator \
                 of its territory, or a national one, can handle it."
            )
        )
    }

    /// A groupement outside the facilitator's territory.
    pub fn groupement_outside_scope(&self, code: &str, scope: &Scope) -> String {
        let territory = self.territory(scope);
        say!(
            self,
            format!("⛔ Le groupement {code} n'est pas dans votre territoire ({territory}). Rien n'a été envoyé."),
            format!("⛔ Groupement {code} is outside your territory ({territory}). Nothing was sent.")
        )
    }

    pub fn tender_line(&self, tender: &Tender, campaign: Option<&str>) -> String {
        let state = match (campaign, self.lang) {
            (None, Lang::Fr) => "pas de campagne".to_owned(),
            (None, Lang::En) => "no campaign".to_owned(),
            (Some("running"), Lang::Fr) => "campagne en cours".to_owned(),
            (Some("running"), Lang::En) => "campaign running".to_owned(),
            (Some("ready"), Lang::Fr) => "campagne terminée".to_owned(),
            (Some("ready"), Lang::En) => "campaign ready".to_owned(),
            (Some(other), _) => other.to_owned(),
        };
        let total: f64 = tender.lines.iter().map(|l| l.quantity).sum();
        format!("• {} — {} ({}) · {} h · {state}", tender.reference, tender.title, tender.buyer.name, self.qty(total))
    }

    pub fn campaign_exists(&self, reference: &str) -> String {
        say!(
            self,
            format!(
                "La campagne de {reference} est déjà lancée. {} {reference} montre où elle en est.",
                self.command(Command::Status)
            ),
            format!(
                "The campaign of {reference} is already running. {} {reference} shows where it stands.",
                self.command(Command::Status)
            )
        )
    }

    pub fn no_campaign(&self, reference: &str) -> String {
        say!(
            self,
            format!("Pas de campagne pour {reference}. {} {reference} la lance.", self.command(Command::Allocate)),
            format!("No campaign for {reference}. {} {reference} launches it.", self.command(Command::Allocate))
        )
    }

    pub fn deadline_passed(&self, reference: &str, at: DateTime<Utc>) -> String {
        say!(
            self,
            format!("La date limite de {reference} est passée ({}) : pas de campagne possible.", self.date(at)),
            format!("The deadline of {reference} has passed ({}): no campaign possible.", self.date(at))
        )
    }

    pub fn reference_too_long(&self, reference: &str) -> String {
        say!(
            self,
            format!("La référence {reference} est trop longue pour les boutons de réponse (48 caractères au plus)."),
            format!("The reference {reference} is too long for answer buttons (48 characters at most).")
        )
    }

    pub fn unknown_groupement(&self, reference: &str) -> String {
        say!(
            self,
            format!("L'appel {reference} nomme un groupement absent de l'annuaire : importez ses membres d'abord."),
            format!("Tender {reference} names a groupement missing from the directory: import its members first.")
        )
    }

    /// The offer as its supplier sees it. `already`: what the structure holds on the same line from earlier
    /// offers (accepted or waiting), when this one comes on top. `price`: the unit price the lot would be
    /// billed at, excluding VAT, and whether it is the structure's own (else the buyer's reference).
    pub fn offer(
        &self,
        tender: &Tender,
        line: &TenderLine,
        offer: &Offer,
        reminder: bool,
        already: f64,
        price: Option<(f64, bool)>,
    ) -> String {
        let t = &offer.terms;
        let head = match (reminder, self.lang) {
            (false, Lang::Fr) => format!("📋 Nouvelle offre — {}", tender.reference),
            (false, Lang::En) => format!("📋 New offer — {}", tender.reference),
            (true, Lang::Fr) => format!("⏰ Rappel : offre en attente — {}", tender.reference),
            (true, Lang::En) => format!("⏰ Reminder: offer waiting — {}", tender.reference),
        };
        let mut lines = vec![
            head,
            tender.title.clone(),
            format!("{} : {} {}", self.line_name(line), self.qty(t.quantity), line.unit),
        ];
        if already > 0.0 {
            lines.push(say!(
                self,
                format!("➕ En plus des {} {} que vous avez déjà sur cette ligne", self.qty(already), line.unit),
                format!("➕ On top of the {} {} you already hold on this line", self.qty(already), line.unit)
            ));
        }
        if let Some((unit_price, own)) = price {
            let amount = essaim_core::format_number(unit_price * t.quantity, 2, self.lang);
            let each = essaim_core::format_number(unit_price, 2, self.lang);
            lines.push(match (self.lang, own) {
                (Lang::Fr, true) => format!("💶 {amount} € HT ({each} € / {} : votre tarif)", line.unit),
                (Lang::Fr, false) => {
                    format!("💶 {amount} € HT ({each} € / {} : prix de référence de l'acheteur)", line.unit)
                }
                (Lang::En, true) => format!("💶 €{amount} excl. VAT (€{each} / {}: your price)", line.unit),
                (Lang::En, false) => {
                    format!("💶 €{amount} excl. VAT (€{each} / {}: the buyer's reference price)", line.unit)
                }
            });
        }
        lines.push(say!(
            self,
            format!("📍 Site à {} de chez vous · acheteur : {}", self.km(t.distance_km), tender.buyer.name),
            format!("📍 Site {} from you · buyer: {}", self.km(t.distance_km), tender.buyer.name)
        ));
        if let Some(w) = &line.window {
            lines.push(say!(
                self,
                format!("📅 Du {} au {}", w.start.format("%d/%m/%Y"), w.end.format("%d/%m/%Y")),
                format!("📅 From {} to {}", w.start, w.end)
            ));
        }
        lines.push(say!(
            self,
            format!("⏳ Répondre avant le {} (offre n° {})", self.date(t.respond_by), t.id),
            format!("⏳ Answer by {} (offer #{})", self.date(t.respond_by), t.id)
        ));
        lines.join("\n")
    }

    pub fn button_accept(&self) -> String {
        say!(self, "Accepter".to_owned(), "Accept".to_owned())
    }
    pub fn button_decline(&self) -> String {
        say!(self, "Refuser".to_owned(), "Decline".to_owned())
    }
    pub fn button_ask(&self) -> String {
        say!(self, "Poser une question".to_owned(), "Ask a question".to_owned())
    }

    pub fn ask_question_text(&self, offer: &Offer) -> String {
        say!(
            self,
            format!(
                "Votre question sur l'offre n° {}, en un message : elle est transmise au facilitateur.",
                offer.terms.id
            ),
            format!("Your question about offer #{}, in one message: it goes to the facilitator.", offer.terms.id)
        )
    }

    pub fn question_sent(&self) -> String {
        say!(
            self,
            "Question transmise au facilitateur : sa réponse vous arrivera ici.".to_owned(),
            "Question sent to the facilitator: the answer will come here.".to_owned()
        )
    }

    pub fn question_asked(
        &self,
        supplier: &str,
        offer: &Offer,
        line: &TenderLine,
        text: &str,
        reference: &str,
    ) -> String {
        say!(
            self,
            format!(
                "❓ {supplier} demande, sur l'offre n° {} ({}) : « {text} »\nRépondez avec {} {reference} {} votre réponse",
                offer.terms.id,
                self.line_name(line),
                self.command(Command::Reply),
                offer.terms.id
            ),
            format!(
                "❓ {supplier} asks, about offer #{} ({}): « {text} »\nAnswer with {} {reference} {} your answer",
                offer.terms.id,
                self.line_name(line),
                self.command(Command::Reply),
                offer.terms.id
            )
        )
    }

    pub fn question_answered(&self, offer: u32, reference: &str, text: &str) -> String {
        say!(
            self,
            format!("💬 Réponse du facilitateur sur l'offre n° {offer} ({reference}) : {text}"),
            format!("💬 The facilitator's answer about offer #{offer} ({reference}): {text}")
        )
    }

    pub fn reply_sent(&self, supplier: &str) -> String {
        say!(self, format!("Réponse transmise à {supplier}."), format!("Answer sent to {supplier}."))
    }

    pub fn button_part(&self) -> String {
        say!(self, "Accepter une partie".to_owned(), "Accept part".to_owned())
    }

    /// The offer message once answered (its buttons are removed).
    pub fn offer_answered(&self, offer_text: &str, outcome: &str) -> String {
        format!("{offer_text}\n\n{outcome}")
    }

    pub fn accepted(&self, q: f64, unit: &str) -> String {
        say!(
            self,
            format!("✅ Accepté : {} {unit}. Merci !", self.qty(q)),
            format!("✅ Accepted: {} {unit}. Thank you!", self.qty(q))
        )
    }

    pub fn accepted_part(&self, q: f64, of: f64, unit: &str) -> String {
        say!(
            self,
            format!(
                "✅ Accepté en partie : {} {unit} sur {}. Le reste est proposé à d'autres structures.",
                self.qty(q),
                self.qty(of)
            ),
            format!(
                "✅ Partly accepted: {} {unit} of {}. The rest goes to other structures.",
                self.qty(q),
                self.qty(of)
            )
        )
    }

    pub fn declined(&self) -> String {
        say!(
            self,
            "❌ Refusé. L'offre est proposée à d'autres structures.".to_owned(),
            "❌ Declined. The offer goes to other structures.".to_owned()
        )
    }

    pub fn noted(&self) -> String {
        say!(self, "C'est noté.".to_owned(), "Noted.".to_owned())
    }

    pub fn offer_not_open(&self) -> String {
        say!(self, "Cette offre n'est plus ouverte.".to_owned(), "This offer is no longer open.".to_owned())
    }

    pub fn offer_not_yours(&self) -> String {
        say!(
            self,
            "⛔ Cette offre n'est pas adressée à votre structure. Rien n'a été modifié.".to_owned(),
            "⛔ This offer is not addressed to your structure. Nothing was changed.".to_owned()
        )
    }

    pub fn ask_quantity(&self, offer: &Offer, unit: &str) -> String {
        say!(
            self,
            format!(
                "Combien pouvez-vous prendre sur l'offre n° {} ? Répondez par un nombre entre {} et {} ({unit}).",
                offer.terms.id,
                self.qty(offer.terms.min_quantity),
                self.qty(offer.terms.quantity)
            ),
            format!(
                "How much of offer #{} can you take? Answer with a number between {} and {} ({unit}).",
                offer.terms.id,
                self.qty(offer.terms.min_quantity),
                self.qty(offer.terms.quantity)
            )
        )
    }

    pub fn quantity_out_of_range(&self, min: f64, max: f64) -> String {
        say!(
            self,
            format!("Quantité non valable : donnez un nombre entre {} et {}.", self.qty(min), self.qty(max)),
            format!("Invalid quantity: give a number between {} and {}.", self.qty(min), self.qty(max))
        )
    }

    pub fn no_open_offers(&self) -> String {
        say!(
            self,
            "Aucune offre en attente pour votre structure.".to_owned(),
            "No open offer for your structure.".to_owned()
        )
    }

    pub fn open_offers_count(&self, n: usize) -> String {
        say!(
            self,
            format!("{n} offre(s) en attente de votre réponse :"),
            format!("{n} offer(s) waiting for your answer:")
        )
    }

    pub fn capacity_updated(&self, sector_label: &str, q: f64) -> String {
        say!(
            self,
            format!(
                "✅ Capacité mise à jour : {sector_label} = {} h. Elle servira aux prochaines répartitions.",
                self.qty(q)
            ),
            format!(
                "✅ Capacity updated: {sector_label} = {} h. It will be used by the next allocations.",
                self.qty(q)
            )
        )
    }

    pub fn capacity_invalid(&self, detail: &str) -> String {
        say!(self, format!("Capacité non valable : {detail}"), format!("Invalid capacity: {detail}"))
    }

    /// Why part of a line is uncovered, in the reader's language when the causes are known.
    pub fn reason(&self, u: &Uncovered, name: &dyn Fn(&str) -> String) -> String {
        if u.causes.is_empty() { u.reason.clone() } else { ShortfallCause::render_all(&u.causes, self.lang, name) }
    }

    pub fn launched(&self, reference: &str, offers: usize, suppliers: usize, unlinked: &[String]) -> String {
        let mut text = say!(
            self,
            format!("🚀 Campagne {reference} lancée : {offers} offre(s) envoyée(s) à {suppliers} structure(s)."),
            format!("🚀 Campaign {reference} launched: {offers} offer(s) sent to {suppliers} structure(s).")
        );
        if !unlinked.is_empty() {
            text.push('\n');
            text.push_str(&say!(
                self,
                format!("⚠️ Sans compte relié (à prévenir autrement) : {}", unlinked.join(", ")),
                format!("⚠️ Without a linked account (reach them another way): {}", unlinked.join(", "))
            ));
        }
        text
    }

    pub fn uncovered_line(&self, line: &TenderLine, q: f64, reason: &str) -> String {
        say!(
            self,
            format!("⚠️ Non couvert — {} : {} {} ({reason})", self.line_name(line), self.qty(q), line.unit),
            format!("⚠️ Uncovered — {}: {} {} ({reason})", self.line_name(line), self.qty(q), line.unit)
        )
    }

    pub fn supplier_declined(&self, supplier: &str, offer: &Offer, line: &TenderLine) -> String {
        let mut text = say!(
            self,
            format!(
                "❌ {supplier} refuse l'offre n° {} ({} {}, {}).",
                offer.terms.id,
                self.qty(offer.terms.quantity),
                line.unit,
                self.line_name(line)
            ),
            format!(
                "❌ {supplier} declined offer #{} ({} {}, {}).",
                offer.terms.id,
                self.qty(offer.terms.quantity),
                line.unit,
                self.line_name(line)
            )
        );
        if let OfferState::Declined { reason: Some(reason), .. } = &offer.state {
            text.push_str(&say!(self, format!(" Motif : {reason}."), format!(" Reason: {reason}.")));
        }
        text
    }

    pub fn decline_explained(&self, supplier: &str, offer: &Offer, line: &TenderLine) -> String {
        let reason = match &offer.state {
            OfferState::Declined { reason: Some(reason), .. } => reason.as_str(),
            _ => "",
        };
        say!(
            self,
            format!(
                "💬 {supplier} précise son refus de l'offre n° {} ({}) : {reason}.",
                offer.terms.id,
                self.line_name(line)
            ),
            format!("💬 {supplier} explains declining offer #{} ({}): {reason}.", offer.terms.id, self.line_name(line))
        )
    }

    pub fn withdrawal_asked(&self, supplier: &str, offer: &Offer, line: &TenderLine, reason: &str) -> String {
        say!(
            self,
            format!(
                "↩️ {supplier} demande à retirer le lot n° {} ({} {}, {}) qu'elle avait accepté. Motif : {reason}.\n\
                 Confirmer le libère et le propose à d'autres structures.",
                offer.terms.id,
                self.qty(offer.held_quantity()),
                line.unit,
                self.line_name(line)
            ),
            format!(
                "↩️ {supplier} asks to give back lot #{} ({} {}, {}) it had accepted. Reason: {reason}.\n\
                 Confirming frees it and offers it to other structures.",
                offer.terms.id,
                self.qty(offer.held_quantity()),
                line.unit,
                self.line_name(line)
            )
        )
    }

    pub fn button_confirm_withdrawal(&self) -> String {
        say!(self, "Confirmer le retrait".to_owned(), "Confirm the withdrawal".to_owned())
    }

    pub fn button_refuse_withdrawal(&self) -> String {
        say!(self, "Maintenir l'engagement".to_owned(), "Keep the commitment".to_owned())
    }

    pub fn no_reason_given(&self) -> String {
        say!(self, "sans motif".to_owned(), "no reason given".to_owned())
    }

    pub fn nothing_to_withdraw(&self, offer: u32) -> String {
        say!(
            self,
            format!(
                "Le lot n° {offer} n'est pas un lot accepté par votre structure (ou un retrait est déjà demandé) : rien n'a été modifié. /mes_lots liste vos engagements."
            ),
            format!(
                "Lot #{offer} is not a lot your structure accepted (or a withdrawal is already asked): nothing was changed. /lots lists your commitments."
            )
        )
    }

    pub fn withdrawal_sent(&self, offer: u32) -> String {
        say!(
            self,
            format!(
                "Demande de retrait du lot n° {offer} transmise au facilitateur : le lot reste à vous tant qu'il ne l'a pas confirmée."
            ),
            format!(
                "Request to give back lot #{offer} sent to the facilitator: the lot stays yours until they confirm."
            )
        )
    }

    pub fn withdrawal_settled(&self, offer: u32, confirmed: bool) -> String {
        match (confirmed, self.lang) {
            (true, Lang::Fr) => {
                format!("↩️ Retrait du lot n° {offer} confirmé : il est proposé à d'autres structures.")
            }
            (true, Lang::En) => format!("↩️ Withdrawal of lot #{offer} confirmed: it is offered to other structures."),
            (false, Lang::Fr) => {
                format!("Le facilitateur maintient votre engagement sur le lot n° {offer} : contactez-le.")
            }
            (false, Lang::En) => format!("The facilitator keeps your commitment on lot #{offer}: please contact them."),
        }
    }

    pub fn withdrawal_decided(&self, supplier: &str, offer: u32, confirmed: bool) -> String {
        match (confirmed, self.lang) {
            (true, Lang::Fr) => format!("✓ Retrait du lot n° {offer} de {supplier} confirmé."),
            (true, Lang::En) => format!("✓ Withdrawal of lot #{offer} by {supplier} confirmed."),
            (false, Lang::Fr) => format!("✓ Engagement de {supplier} sur le lot n° {offer} maintenu."),
            (false, Lang::En) => format!("✓ {supplier}'s commitment on lot #{offer} kept."),
        }
    }

    /// Under a refusal recorded in a chat: the question the reason buttons answer.
    pub fn why_declined(&self) -> String {
        say!(
            self,
            "Pourquoi ? (facultatif — le facilitateur en tient compte pour la suite)".to_owned(),
            "Why? (optional — the facilitator takes it into account)".to_owned()
        )
    }

    pub fn ask_other_reason(&self, offer: &Offer) -> String {
        say!(
            self,
            format!(
                "En quelques mots, pourquoi refusez-vous l'offre n° {} ? (« - » pour ne rien préciser)",
                offer.terms.id
            ),
            format!("In a few words, why did you decline offer #{}? (« - » to say nothing more)", offer.terms.id)
        )
    }

    pub fn reason_noted(&self, reason: &str) -> String {
        say!(
            self,
            format!("Merci, motif noté : {reason}. Le facilitateur en est informé."),
            format!("Thank you, reason noted: {reason}. The facilitator has been told.")
        )
    }

    pub fn supplier_accepted_part(&self, supplier: &str, offer: &Offer, q: f64, line: &TenderLine) -> String {
        say!(
            self,
            format!(
                "🟡 {supplier} accepte {} {} sur {} de l'offre n° {} ({}).",
                self.qty(q),
                line.unit,
                self.qty(offer.terms.quantity),
                offer.terms.id,
                self.line_name(line)
            ),
            format!(
                "🟡 {supplier} accepts {} {} of {} from offer #{} ({}).",
                self.qty(q),
                line.unit,
                self.qty(offer.terms.quantity),
                offer.terms.id,
                self.line_name(line)
            )
        )
    }

    /// What became of an offer, under its message once it is closed; `None` while it is open.
    pub fn offer_outcome(&self, offer: &Offer, unit: &str) -> Option<String> {
        Some(match &offer.state {
            OfferState::Open => return None,
            OfferState::Accepted { quantity, .. }
                if *quantity < offer.terms.quantity - essaim_core::QUANTITY_EPSILON =>
            {
                self.accepted_part(*quantity, offer.terms.quantity, unit)
            }
            OfferState::Accepted { quantity, .. } => self.accepted(*quantity, unit),
            OfferState::Declined { .. } => self.declined(),
            OfferState::Expired { .. } => say!(
                self,
                "⌛ Sans réponse dans le délai : l'offre est proposée à d'autres structures.".to_owned(),
                "⌛ Not answered in time: the offer goes to other structures.".to_owned()
            ),
            OfferState::Withdrawn { .. } => say!(
                self,
                "🔒 Campagne close : cette offre n'est plus ouverte.".to_owned(),
                "🔒 Campaign closed: this offer is no longer open.".to_owned()
            ),
        })
    }

    pub fn offers_expired(&self, n: usize) -> String {
        say!(
            self,
            format!("⌛ {n} offre(s) sans réponse dans le délai."),
            format!("⌛ {n} offer(s) unanswered in time.")
        )
    }

    pub fn reallocated(&self, offers: usize) -> String {
        match (offers, self.lang) {
            (0, Lang::Fr) => "🔁 Réaffectation : aucune autre structure ne peut reprendre cette quantité.".to_owned(),
            (0, Lang::En) => "🔁 Reallocation: no other structure can take this quantity.".to_owned(),
            (n, Lang::Fr) => format!("🔁 Réaffectation : {n} nouvelle(s) offre(s) envoyée(s)."),
            (n, Lang::En) => format!("🔁 Reallocation: {n} new offer(s) sent."),
        }
    }

    /// The mail that invites a structure of a groupement: its code for a chat account, or nothing to do.
    pub fn invitation(&self, structure: &str, groupement: &str, code: &str, until: DateTime<Utc>) -> String {
        let until = self.date(until);
        say!(
            self,
            format!(
                "👋 Invitation — {groupement}\n\
                 Bonjour {structure},\n\
                 le groupement {groupement} répond aux marchés avec clauses sociales avec essaim : chaque structure \
                 reçoit les lots qui lui conviennent et les accepte, refuse ou en prend une partie.\n\n\
                 • Rester par courriel : rien à faire. Les offres arrivent à cette adresse, un clic suffit pour \
                 répondre.\n\
                 • Les recevoir sur votre téléphone : envoyez « /start {code} » au bot Telegram du réseau, ou \
                 « /demarrer {code} » sur son serveur Discord.\n\n\
                 Ce code est personnel et valable jusqu'au {until}."
            ),
            format!(
                "👋 Invitation — {groupement}\n\
                 Hello {structure},\n\
                 the groupement {groupement} answers tenders with social clauses with essaim: each structure \
                 receives the lots that suit it and accepts, declines or takes part of them.\n\n\
                 • To stay by e-mail: nothing to do. Offers come to this address; one click answers.\n\
                 • To get them on your phone: send « /start {code} » to the network's Telegram bot, or \
                 « /start {code} » on its Discord server.\n\n\
                 This code is personal and valid until {until}."
            )
        )
    }

    pub fn mail_not_configured(&self) -> String {
        say!(
            self,
            "Le courriel n'est pas configuré sur ce service ([mail] smtp_host) : invitez avec essaim invite --supplier SIRET.".to_owned(),
            "E-mail is not configured on this service ([mail] smtp_host): invite with essaim invite --supplier SIRET.".to_owned()
        )
    }

    pub fn unknown_groupement_code(&self, code: &str) -> String {
        say!(self, format!("Groupement inconnu : {code}."), format!("Unknown groupement: {code}."))
    }

    /// What inviting a groupement by mail did.
    pub fn groupement_invited(&self, code: &str, done: &crate::campaigns::GroupementInvites) -> String {
        let mut text = say!(
            self,
            format!(
                "✉️ {code} : {} invitation(s) envoyée(s) par courriel, {} structure(s) déjà reliée(s).",
                done.invited.len(),
                done.linked
            ),
            format!(
                "✉️ {code}: {} invitation(s) sent by e-mail, {} structure(s) already linked.",
                done.invited.len(),
                done.linked
            )
        );
        if !done.without_address.is_empty() {
            text.push('\n');
            text.push_str(&say!(
                self,
                format!("⚠️ Sans adresse dans l'annuaire : {}", done.without_address.join(", ")),
                format!("⚠️ No address in the directory: {}", done.without_address.join(", "))
            ));
        }
        text
    }

    /// `/membres`: one line per structure with its channel; the unreachable counted at the end.
    pub fn members(&self, reference: &str, rows: &[(String, &str, crate::campaigns::Reach)]) -> String {
        use crate::campaigns::Reach;
        let mut out = vec![say!(
            self,
            format!("👥 Structures de {reference} ({}) et comment les joindre", rows.len()),
            format!("👥 Structures of {reference} ({}) and how to reach them", rows.len())
        )];
        let mut unreachable = 0;
        for (name, kind, reach) in rows {
            let how = match reach {
                Reach::Chat(platforms) => {
                    let names: Vec<&str> = platforms.iter().map(|p| p.label()).collect();
                    format!("✅ {}", names.join(" + "))
                }
                Reach::Email { address, reminders: true } => {
                    say!(self, format!("✅ courriel ({address})"), format!("✅ e-mail ({address})"))
                }
                Reach::Email { address, reminders: false } => say!(
                    self,
                    format!("✅ courriel ({address}, sans relances)"),
                    format!("✅ e-mail ({address}, no reminders)")
                ),
                Reach::EmailNotConfigured(address) => {
                    unreachable += 1;
                    say!(
                        self,
                        format!("⚠️ injoignable : {address} dans l'annuaire, mais le courriel n'est pas configuré"),
                        format!("⚠️ unreachable: {address} in the directory, but e-mail is not configured")
                    )
                }
                Reach::Unreachable => {
                    unreachable += 1;
                    say!(
                        self,
                        "⚠️ injoignable : ni compte relié ni adresse dans l'annuaire".to_owned(),
                        "⚠️ unreachable: no linked account and no address in the directory".to_owned()
                    )
                }
            };
            out.push(format!("• {name} ({kind}) — {how}"));
        }
        if unreachable > 0 {
            out.push(say!(
                self,
                format!(
                    "{unreachable} injoignable(s) : un code d'invitation (essaim invite --supplier SIRET) ou une \
                     adresse dans l'annuaire."
                ),
                format!(
                    "{unreachable} unreachable: an invite code (essaim invite --supplier SIRET) or an address in \
                     the directory."
                )
            ));
        }
        out.join("\n")
    }

    pub fn reminded(&self, reference: &str, offers: usize, suppliers: usize) -> String {
        match (offers, self.lang) {
            (0, Lang::Fr) => format!("Aucune offre en attente pour {reference} : personne à relancer."),
            (0, Lang::En) => format!("No open offer for {reference}: nobody to remind."),
            (n, Lang::Fr) => {
                format!("⏰ {suppliers} structure(s) relancée(s) pour {reference} ({n} offre(s) en attente).")
            }
            (n, Lang::En) => format!("⏰ {suppliers} structure(s) reminded for {reference} ({n} open offer(s))."),
        }
    }

    pub fn campaign_closed(&self) -> String {
        say!(
            self,
            "La campagne est close : cette offre n'est plus ouverte.".to_owned(),
            "The campaign is closed: this offer is no longer open.".to_owned()
        )
    }

    /// Per line: accepted, pending, declined, uncovered; the clause hours (accepted and pending) against
    /// the target; for an uncovered line, why and who outside the groupement could take it.
    #[allow(clippy::too_many_arguments)]
    pub fn status(
        &self,
        tender: &Tender,
        running: bool,
        coverage: &[LineCoverage],
        name: &dyn Fn(&str) -> String,
        uncovered: &[Uncovered],
        clauses: &BTreeMap<String, f64>,
        refusals: &BTreeMap<String, Vec<(String, Option<String>)>>,
        suggestions: &BTreeMap<String, Vec<Suggestion>>,
    ) -> String {
        let mut out = vec![match (running, self.lang) {
            (true, Lang::Fr) => format!("📊 {} — campagne en cours", tender.reference),
            (true, Lang::En) => format!("📊 {} — campaign running", tender.reference),
            (false, Lang::Fr) => format!("📊 {} — campagne terminée", tender.reference),
            (false, Lang::En) => format!("📊 {} — campaign ready", tender.reference),
        }];
        let (mut total, mut accepted) = (0.0, 0.0);
        for (line, c) in tender.lines.iter().zip(coverage) {
            total += line.quantity;
            accepted += c.accepted;
            out.push(format!("\n{} — {} {}", self.line_name(line), self.qty(line.quantity), line.unit));
            out.push(say!(
                self,
                format!(
                    "✅ {} acceptées · ⏳ {} en attente · ❌ {} refusées · ⚠️ {} non couvertes",
                    self.qty(c.accepted),
                    self.qty(c.pending),
                    self.qty(c.declined),
                    self.qty(c.uncovered)
                ),
                format!(
                    "✅ {} accepted · ⏳ {} pending · ❌ {} declined · ⚠️ {} uncovered",
                    self.qty(c.accepted),
                    self.qty(c.pending),
                    self.qty(c.declined),
                    self.qty(c.uncovered)
                )
            ));
            // Who declined and why: what the facilitator needs to choose whom to call.
            if let Some(declined) = refusals.get(&line.id).filter(|r| !r.is_empty()) {
                let who: Vec<String> = declined
                    .iter()
                    .map(|(name, reason)| match reason {
                        Some(reason) => format!("{name} ({reason})"),
                        None => say!(self, format!("{name} (sans motif)"), format!("{name} (no reason given)")),
                    })
                    .collect();
                out.push(say!(
                    self,
                    format!("   Refus : {}", who.join(" ; ")),
                    format!("   Declined by: {}", who.join("; "))
                ));
            }
            if let (Some(target), Some(reached)) = (line.insertion_hours_min, clauses.get(&line.id)) {
                let mark = if *reached + 1e-6 >= target { "✓" } else { "⚠️" };
                out.push(say!(
                    self,
                    format!(
                        "{mark} Clause d'insertion : {} h visées, {} h apportées (acceptées et en attente)",
                        self.qty(target),
                        self.qty(*reached)
                    ),
                    format!(
                        "{mark} Insertion clause: {} h targeted, {} h brought (accepted and pending)",
                        self.qty(target),
                        self.qty(*reached)
                    )
                ));
            }
            if c.uncovered > 0.0
                && let Some(u) = uncovered.iter().find(|u| u.line == line.id)
            {
                out.push(format!("   {}", self.reason(u, name)));
            }
            if c.uncovered > 0.0
                && let Some(found) = suggestions.get(&line.id)
            {
                out.push(self.suggestions(tender.reference.as_str(), found));
            }
        }
        let percent = if total > 0.0 { accepted / total * 100.0 } else { 0.0 };
        out.push(say!(
            self,
            format!(
                "\nCouvert et confirmé : {} h sur {} ({} %)",
                self.qty(accepted),
                self.qty(total),
                format_number(percent, 0, self.lang)
            ),
            format!(
                "\nCovered and confirmed: {} h of {} ({}%)",
                self.qty(accepted),
                self.qty(total),
                format_number(percent, 0, self.lang)
            )
        ));
        out.join("\n")
    }

    pub fn ready(&self, reference: &str, cause: essaim_core::ReadyCause) -> String {
        use essaim_core::ReadyCause::{AllAnswered, Closed, DeadlinePassed};
        match (cause, self.lang) {
            (AllAnswered, Lang::Fr) => format!("🏁 Campagne {reference} terminée : toutes les offres ont une réponse."),
            (AllAnswered, Lang::En) => format!("🏁 Campaign {reference} ready: every offer has an answer."),
            (DeadlinePassed, Lang::Fr) => format!(
                "🏁 Campagne {reference} terminée : la date limite est passée, les offres sans réponse sont retirées."
            ),
            (DeadlinePassed, Lang::En) => {
                format!("🏁 Campaign {reference} ready: the deadline passed, unanswered offers are withdrawn.")
            }
            (Closed, Lang::Fr) => {
                format!("🏁 Campagne {reference} close par le facilitateur : les offres sans réponse sont retirées.")
            }
            (Closed, Lang::En) => {
                format!("🏁 Campaign {reference} closed by the facilitator: unanswered offers are withdrawn.")
            }
        }
    }

    pub fn not_running(&self, reference: &str) -> String {
        say!(
            self,
            format!("La campagne {reference} n'est pas en cours : rien à clore."),
            format!("Campaign {reference} is not running: nothing to close.")
        )
    }

    /// Who outside the groupement could take part of an uncovered line.
    pub fn suggestions(&self, reference: &str, found: &[Suggestion]) -> String {
        let mut out = vec![say!(
            self,
            "   Hors groupement, à portée et disponibles :".to_owned(),
            "   Outside the groupement, in reach and available:".to_owned()
        )];
        for s in found {
            let account = match (s.linked, self.lang) {
                (true, Lang::Fr) => "compte relié",
                (true, Lang::En) => "linked account",
                (false, Lang::Fr) => "sans compte relié",
                (false, Lang::En) => "no linked account",
            };
            out.push(say!(
                self,
                format!(
                    "   • {} ({}) — à {}, {} h libres, {account}",
                    s.name,
                    s.siret,
                    self.km(s.distance_km),
                    self.qty(s.free)
                ),
                format!(
                    "   • {} ({}) — {} away, {} h free, {account}",
                    s.name,
                    s.siret,
                    self.km(s.distance_km),
                    self.qty(s.free)
                )
            ));
        }
        let example = found.first().map_or("SIRET", |s| s.siret.as_str());
        out.push(say!(
            self,
            format!("   {} {example} {reference} l'ajoute pour cet appel.", self.command(Command::Invite)),
            format!("   {} {example} {reference} adds it for this tender.", self.command(Command::Invite))
        ));
        out.join("\n")
    }

    pub fn supplier_added(&self, reference: &str, name: &str, linked: bool, offers: usize, running: bool) -> String {
        let mut text = say!(
            self,
            format!("➕ {name} rejoint le groupement pour {reference} (pour cet appel seulement)."),
            format!("➕ {name} joins the groupement for {reference} (for this tender only).")
        );
        text.push(' ');
        text.push_str(&match (running, offers, self.lang) {
            (false, _, Lang::Fr) => {
                format!(
                    "{} {reference} ouvre un nouveau tour pour ce qui reste à couvrir.",
                    self.command(Command::Allocate)
                )
            }
            (false, _, Lang::En) => {
                format!("{} {reference} opens a new round for what is left.", self.command(Command::Allocate))
            }
            (true, 0, Lang::Fr) => "Aucune offre pour elle pour l'instant.".to_owned(),
            (true, 0, Lang::En) => "No offer for it for now.".to_owned(),
            (true, n, Lang::Fr) => format!("{n} offre(s) lui sont faites."),
            (true, n, Lang::En) => format!("{n} offer(s) made to it."),
        });
        if !linked {
            text.push('\n');
            text.push_str(&say!(
                self,
                "⚠️ Sans compte relié : donnez-lui un code d'invitation (essaim invite --supplier SIRET) ou \
                 prévenez-la autrement."
                    .to_owned(),
                "⚠️ No linked account: give it an invite code (essaim invite --supplier SIRET) or reach it \
                 another way."
                    .to_owned()
            ));
        }
        text
    }

    pub fn reopened(&self, reference: &str, deadline: DateTime<Utc>) -> String {
        say!(
            self,
            format!(
                "🔄 Campagne {reference} rouverte jusqu'au {} pour ce qui reste à couvrir (lots acceptés conservés).",
                self.date(deadline)
            ),
            format!(
                "🔄 Campaign {reference} re-opened until {} for what is left (accepted lots kept).",
                self.date(deadline)
            )
        )
    }

    pub fn nothing_uncovered(&self, reference: &str) -> String {
        say!(
            self,
            format!(
                "La campagne de {reference} est terminée et tout est couvert. {} {reference} envoie la proposition.",
                self.command(Command::Send)
            ),
            format!(
                "The campaign of {reference} is ready and everything is covered. {} {reference} sends the proposal.",
                self.command(Command::Send)
            )
        )
    }

    pub fn nothing_to_offer(&self, reference: &str, why: &str) -> String {
        say!(
            self,
            format!("Rien à proposer de plus pour {reference} : personne ne peut prendre ce qui reste.\n{why}"),
            format!("Nothing more to offer for {reference}: nobody can take what is left.\n{why}")
        )
    }

    pub fn unknown_supplier(&self, siret: &str) -> String {
        say!(
            self,
            format!("Aucune structure de l'annuaire n'a le SIRET {siret}."),
            format!("No structure of the directory has SIRET {siret}.")
        )
    }

    pub fn already_member(&self, name: &str, reference: &str) -> String {
        say!(
            self,
            format!("{name} peut déjà répondre à {reference}."),
            format!("{name} can already answer {reference}.")
        )
    }

    pub fn cannot_take_any_line(&self, name: &str, reference: &str) -> String {
        say!(
            self,
            format!(
                "{name} ne peut prendre aucune ligne de {reference} (pas de capacité dans leurs secteurs, ou lignes \
                 réservées ou en exécution seule). Rien n'a été modifié."
            ),
            format!(
                "{name} can take no line of {reference} (no capacity in their sectors, or lines reserved or in \
                 execution only). Nothing was changed."
            )
        )
    }

    /// A structure's commitments and pending offers on every tender (`/mes_lots`).
    pub fn commitments(&self, holdings: &[Holding], title: &dyn Fn(&Holding) -> String) -> String {
        let accepted: Vec<&Holding> = holdings.iter().filter(|h| h.state == HoldingState::Accepted).collect();
        if accepted.is_empty() {
            return say!(self, "Aucun lot accepté pour l'instant.".to_owned(), "No accepted lot yet.".to_owned());
        }
        let mut out = vec![say!(self, "📌 Vos engagements :".to_owned(), "📌 Your commitments:".to_owned())];
        for h in accepted {
            let period = match &h.window {
                Some(w) => say!(
                    self,
                    format!("du {} au {}", w.start.format("%d/%m/%Y"), w.end.format("%d/%m/%Y")),
                    format!("{} to {}", w.start, w.end)
                ),
                None => say!(self, "sans dates".to_owned(), "no dates".to_owned()),
            };
            out.push(format!("• {} — {} h · {period}", title(h), self.qty(h.quantity)));
        }
        out.join("\n")
    }

    /// A structure's capacity per sector and what of it is taken (`/capacite` without arguments).
    pub fn capacity_overview(&self, rows: &[(String, f64, f64, f64)]) -> String {
        if rows.is_empty() {
            return say!(
                self,
                format!("Aucune capacité déclarée. {}", self.usage(Command::Capacity)),
                format!("No capacity declared. {}", self.usage(Command::Capacity))
            );
        }
        let mut out = vec![say!(
            self,
            "📦 Votre capacité (travaux non terminés déduits, acceptés ou en attente) :".to_owned(),
            "📦 Your capacity (unfinished work taken off, accepted or waiting):".to_owned()
        )];
        for (label, capacity, held, free) in rows {
            out.push(say!(
                self,
                format!(
                    "• {label} : {} h, dont {} h engagées — {} h libres",
                    self.qty(*capacity),
                    self.qty(*held),
                    self.qty(*free)
                ),
                format!(
                    "• {label}: {} h, of which {} h held — {} h free",
                    self.qty(*capacity),
                    self.qty(*held),
                    self.qty(*free)
                )
            ));
        }
        out.push(say!(
            self,
            "Des heures engagées ne comptent contre un nouvel appel que si les périodes se chevauchent.".to_owned(),
            "Held hours count against a new tender only when the periods overlap.".to_owned()
        ));
        out.join("\n")
    }

    /// Before sending a bid that covers some lines in part only: which, and the two choices. To a public
    /// buyer, an offer that does not meet the consultation's requirements, in particular because it is
    /// incomplete, is irregular (CCP L2152-2) and eliminated in an appel d'offres (R2152-1).
    pub fn partial_bid_question(
        &self,
        reference: &str,
        partial: &[(String, f64, f64, String)],
        public: bool,
    ) -> String {
        let mut out = vec![say!(
            self,
            format!("⚠️ La proposition de {reference} ne couvre qu'en partie :"),
            format!("⚠️ The proposal of {reference} covers in part only:")
        )];
        for (name, covered, quantity, unit) in partial {
            out.push(format!("• {name} : {} / {} {unit}", self.qty(*covered), self.qty(*quantity)));
        }
        if public {
            out.push(say!(
                self,
                "Pour un acheteur public, une offre incomplète est irrégulière (art. L2152-2 du Code de la commande publique) et peut être écartée.".to_owned(),
                "To a public buyer, an incomplete offer is irregular (Code de la commande publique, art. L2152-2) and may be set aside.".to_owned()
            ));
        }
        out.push(say!(
            self,
            "Envoyer à l'acheteur en marquant ces lignes « offre partielle », ou sans elles ?".to_owned(),
            "Send to the buyer with these lines marked « partial offer », or without them?".to_owned()
        ));
        out.join("\n")
    }

    pub fn button_send_partial(&self) -> String {
        say!(self, "Envoyer en offre partielle".to_owned(), "Send as a partial offer".to_owned())
    }

    pub fn button_send_without(&self) -> String {
        say!(self, "Envoyer sans ces lignes".to_owned(), "Send without these lines".to_owned())
    }

    pub fn price_updated(&self, sector_label: &str, price: Option<f64>) -> String {
        match (price, self.lang) {
            (Some(p), Lang::Fr) => format!(
                "✅ Tarif mis à jour : {sector_label} = {} € HT l'unité. Vos prochains lots seront chiffrés à ce prix.",
                essaim_core::format_number(p, 2, self.lang)
            ),
            (Some(p), Lang::En) => format!(
                "✅ Price updated: {sector_label} = €{} excl. VAT per unit. Your next lots are priced at it.",
                essaim_core::format_number(p, 2, self.lang)
            ),
            (None, Lang::Fr) => format!(
                "✅ Tarif retiré : {sector_label}. Vos lots seront chiffrés au prix de référence de l'acheteur."
            ),
            (None, Lang::En) => {
                format!("✅ Price removed: {sector_label}. Your lots are priced at the buyer's reference price.")
            }
        }
    }

    pub fn price_invalid(&self, detail: &str) -> String {
        say!(
            self,
            format!(
                "Tarif non valable : {detail}. Donnez un prix HT par unité entre 0,01 et 10 000 €, ou « aucun » pour le retirer."
            ),
            format!(
                "Invalid price: {detail}. Give a price per unit excl. VAT between €0.01 and €10,000, or « none » to remove it."
            )
        )
    }

    pub fn lead_designated(&self, name: &str, reference: &str) -> String {
        say!(
            self,
            format!(
                "✅ {name} est désigné mandataire du groupement pour {reference} (art. R2142-24 du code de la commande publique). La proposition le nomme."
            ),
            format!(
                "✅ {name} is named lead (mandataire) of the groupement for {reference} (art. R2142-24 of the French public procurement code). The proposal names it."
            )
        )
    }

    pub fn lead_from_groupement(&self, reference: &str, name: &str) -> String {
        say!(
            self,
            format!("Le groupement de {reference} a son mandataire dans l'annuaire : {name}. Rien n'a été modifié."),
            format!("The groupement of {reference} has its lead in the directory: {name}. Nothing was changed.")
        )
    }

    pub fn lead_not_a_member(&self, name: &str, reference: &str) -> String {
        say!(
            self,
            format!("{name} ne fait pas partie des structures qui répondent à {reference}. Rien n'a été modifié."),
            format!("{name} is not among the structures answering {reference}. Nothing was changed.")
        )
    }

    pub fn delivery_failed(&self, chat: &str, error: &str) -> String {
        say!(
            self,
            format!("⚠️ Message non remis à {chat} : {error}"),
            format!("⚠️ Message not delivered to {chat}: {error}")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_unless_the_user_speaks_english() {
        assert_eq!(lang_of(None, Some("en-GB"), Lang::Fr), Lang::En);
        assert_eq!(lang_of(Some("fr"), Some("en"), Lang::Fr), Lang::Fr);
        assert_eq!(lang_of(None, Some("de"), Lang::Fr), Lang::Fr);
        assert_eq!(lang_of(None, None, Lang::Fr), Lang::Fr);
    }

    #[test]
    fn help_depends_on_the_role_and_names_french_aliases() {
        let t = Texts::new(Lang::Fr, chrono_tz::Europe::Paris);
        assert!(t.help(None).contains("/start CODE"));
        assert!(t.help(Some(Role::Facilitator)).contains("/repartir REF"));
        assert!(!t.help(Some(Role::Supplier)).contains("/repartir"));
        assert!(Texts::new(Lang::En, chrono_tz::Europe::Paris).help(Some(Role::Supplier)).contains("/lots"));
    }
}
