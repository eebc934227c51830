//! What users type and press: commands with their French aliases, and the data carried by offer
//! buttons. Parsing only; the engine decides.

use essaim_core::{OfferId, TenderRef};

/// A command the engine knows, whatever name or alias it was typed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Help,
    Tenders,
    Allocate,
    Status,
    Lots,
    Capacity,
    Remind,
    /// Build the consolidated proposal and send it to the buyer.
    Send,
    /// Add a structure outside the groupement to one tender's campaign (`/inviter SIRET REF`).
    Invite,
    /// A structure sets its own price per unit in a sector (`/tarif SECTEUR PRIX`).
    Price,
    /// The facilitator designates the mandataire of an ad hoc grouping (`/mandataire REF SIRET`).
    Lead,
    /// Each structure of a tender's groupement, its channel and whether it can be reached (`/membres REF`).
    Members,
    /// Close a running campaign now: open offers are withdrawn, the proposal follows (`/clore REF`).
    Close,
    /// Invite by mail every structure of a groupement that has no linked account (`/inviter_tous G`).
    InviteAll,
    /// A structure asks to give back a lot it accepted (`/retirer REF N motif`).
    Withdraw,
    /// A facilitator answers a structure's question about an offer (`/repondre REF N texte`).
    Reply,
    /// Unlink this account and erase the person's data (`/oublier`), after a confirmation button.
    Forget,
}

impl Command {
    /// Every command with its names: the English name first, then the French aliases.
    pub const ALL: [(Command, &'static [&'static str]); 18] = [
        (Command::Start, &["start", "demarrer"]),
        (Command::Help, &["help", "aide"]),
        (Command::Tenders, &["tenders", "appels"]),
        (Command::Allocate, &["allocate", "repartir"]),
        (Command::Status, &["status", "etat"]),
        (Command::Lots, &["lots", "mes_lots"]),
        (Command::Capacity, &["capacity", "capacite"]),
        (Command::Remind, &["remind", "relancer"]),
        (Command::Send, &["send", "envoyer"]),
        (Command::Invite, &["invite", "inviter"]),
        (Command::Price, &["price", "tarif"]),
        (Command::Lead, &["lead", "mandataire"]),
        (Command::Members, &["members", "membres"]),
        (Command::Close, &["close", "clore"]),
        (Command::InviteAll, &["invite_all", "inviter_tous"]),
        (Command::Withdraw, &["withdraw", "retirer"]),
        (Command::Reply, &["reply", "repondre"]),
        (Command::Forget, &["forget", "oublier"]),
    ];

    /// The command typed as `name` (case-insensitive, accents tolerated: `/capacité`, `/état`).
    pub fn parse(name: &str) -> Option<Command> {
        let name = fold(name);
        Self::ALL.iter().find(|(_, names)| names.contains(&name.as_str())).map(|(c, _)| *c)
    }

    /// The French alias, as shown in the help (`/repartir`).
    pub fn french(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("aide", |(_, names)| names[names.len() - 1])
    }

    pub fn english(self) -> &'static str {
        Self::ALL.iter().find(|(c, _)| *c == self).map_or("help", |(_, names)| names[0])
    }

    /// What the command does, in a line: the menus of the chat fronts (Discord's slash commands,
    /// Telegram's command list) show it.
    pub fn description(self, lang: essaim_core::Lang) -> &'static str {
        let (french, english) = match self {
            Command::Start => {
                ("Rejoindre essaim avec votre code d'invitation", "Join essaim with your invitation code")
            }
            Command::Help => ("Ce que vous pouvez faire ici", "What you can do here"),
            Command::Tenders => ("Les appels d'offres en cours", "Open tenders"),
            Command::Allocate => {
                ("Calculer et proposer la répartition des lots", "Compute and offer the allocation of the lots")
            }
            Command::Status => ("Où en est un appel d'offres", "Where a tender stands"),
            Command::Lots => ("Vos lots et vos propositions en attente", "Your lots and pending offers"),
            Command::Capacity => (
                "Voir ce qui est libre, ou déclarer votre capacité dans un secteur",
                "See what is free, or declare your capacity in a sector",
            ),
            Command::Remind => {
                ("Relancer les structures qui n'ont pas répondu", "Remind the structures that have not answered")
            }
            Command::Send => {
                ("Envoyer la proposition du groupement à l'acheteur", "Send the groupement's proposal to the buyer")
            }
            Command::Invite => (
                "Ajouter une structure au groupement pour un appel (couvrir un manque)",
                "Add a structure to the groupement for one tender (to fill a shortfall)",
            ),
            Command::Price => (
                "Déclarer votre prix HT par unité dans un secteur",
                "Declare your price per unit excl. VAT in a sector",
            ),
            Command::Lead => (
                "Désigner le mandataire d'un groupement constitué pour l'appel",
                "Name the lead of a groupement formed for the tender",
            ),
            Command::Close => (
                "Clore la campagne maintenant (les offres sans réponse sont retirées)",
                "Close the campaign now (unanswered offers are withdrawn)",
            ),
            Command::InviteAll => (
                "Inviter par courriel les structures d'un groupement sans compte relié",
                "Invite by e-mail a groupement's structures without a linked account",
            ),
            Command::Withdraw => (
                "Demander à rendre un lot accepté (le facilitateur confirme)",
                "Ask to give back an accepted lot (the facilitator confirms)",
            ),
            Command::Forget => (
                "Délier ce compte et effacer vos données (après confirmation)",
                "Unlink this account and erase your data (after confirmation)",
            ),
            Command::Reply => {
                ("Répondre à la question d'une structure sur une offre", "Answer a structure's question about an offer")
            }
            Command::Members => {
                ("Les structures d'un appel et comment les joindre", "A tender's structures and how to reach them")
            }
        };
        match lang {
            essaim_core::Lang::Fr => french,
            essaim_core::Lang::En => english,
        }
    }
}

/// Lower case without the accents French keyboards add, so `/Capacité` is `/capacite`.
fn fold(name: &str) -> String {
    name.trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'à' | 'â' => 'a',
            'î' | 'ï' => 'i',
            'ô' => 'o',
            'ù' | 'û' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// What an offer button does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferAction {
    Accept,
    Decline,
    /// Accept part: asks for the quantity.
    Part,
    /// Why the offer was declined (the buttons under a recorded refusal).
    Because(DeclineReason),
    /// Ask the facilitators a question about the offer (the next message, or the form, is the question).
    Ask,
}

/// Longest reason kept with a refusal, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a structure declines an offer: what a facilitator can act on (find capacity elsewhere, a closer
/// structure, discuss the price or the dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    Capacity,
    Distance,
    Price,
    Time,
    /// Anything else: the structure is asked to say it in a few words.
    Other,
}

impl DeclineReason {
    pub const ALL: [DeclineReason; 5] = [Self::Capacity, Self::Distance, Self::Price, Self::Time, Self::Other];

    /// As stored with the refusal (French: the facilitator's language), and as the e-mail form sends it.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Capacity => "capacité",
            Self::Distance => "distance",
            Self::Price => "prix",
            Self::Time => "délai",
            Self::Other => "autre",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.slug() == slug)
    }

    /// Its code in button data (`n1:7:T-1`): two characters like the other actions, so the longest
    /// reference that fits an offer button fits these too.
    fn code(self) -> &'static str {
        match self {
            Self::Capacity => "n1",
            Self::Distance => "n2",
            Self::Price => "n3",
            Self::Time => "n4",
            Self::Other => "n5",
        }
    }

    pub fn label(self, lang: essaim_core::Lang) -> &'static str {
        use essaim_core::Lang::{En, Fr};
        match (self, lang) {
            (Self::Capacity, Fr) => "Pas la capacité sur cette période",
            (Self::Capacity, En) => "No capacity over this period",
            (Self::Distance, Fr) => "Site trop loin",
            (Self::Distance, En) => "Site too far",
            (Self::Price, Fr) => "Prix trop bas",
            (Self::Price, En) => "Price too low",
            (Self::Time, Fr) => "Délai trop court",
            (Self::Time, En) => "Too little time",
            (Self::Other, Fr) => "Autre raison",
            (Self::Other, En) => "Another reason",
        }
    }
}

/// The data of an offer button: `ok:7:T-2026-014`. The offer number is never reused within a campaign,
/// so a button of an offer that was answered, expired or withdrawn is recognisably stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferButton {
    pub action: OfferAction,
    pub offer: OfferId,
    pub tender: TenderRef,
}

/// Telegram's limit on button data, which Discord's custom ids (100) exceed.
pub const MAX_BUTTON_DATA: usize = 64;

impl OfferButton {
    pub fn data(&self) -> String {
        let action = match self.action {
            OfferAction::Accept => "ok",
            OfferAction::Decline => "no",
            OfferAction::Part => "pt",
            OfferAction::Ask => "qa",
            OfferAction::Because(reason) => reason.code(),
        };
        format!("{action}:{}:{}", self.offer, self.tender)
    }

    /// `None` for data that is not an offer button (forged or from an older version).
    pub fn parse(data: &str) -> Option<OfferButton> {
        let mut parts = data.splitn(3, ':');
        let action = match parts.next()? {
            "ok" => OfferAction::Accept,
            "no" => OfferAction::Decline,
            "pt" => OfferAction::Part,
            "qa" => OfferAction::Ask,
            code => OfferAction::Because(DeclineReason::ALL.into_iter().find(|r| r.code() == code)?),
        };
        let offer = parts.next()?.parse().ok()?;
        let tender = TenderRef::parse("tender", parts.next()?).ok()?;
        Some(OfferButton { action, offer, tender })
    }
}

/// The buttons that ask a facilitator what to do with a bid that covers a line in part only: send it
/// marked « offre partielle » (`bm:REF`), or without the lines covered in part (`bo:REF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidButton {
    pub partial_lines: essaim_core::proposal::PartialLines,
    pub tender: TenderRef,
}

impl BidButton {
    pub fn data(&self) -> String {
        let choice = match self.partial_lines {
            essaim_core::proposal::PartialLines::Mark => "bm",
            essaim_core::proposal::PartialLines::Omit => "bo",
        };
        format!("{choice}:{}", self.tender)
    }

    pub fn parse(data: &str) -> Option<BidButton> {
        let (choice, tender) = data.split_once(':')?;
        let partial_lines = match choice {
            "bm" => essaim_core::proposal::PartialLines::Mark,
            "bo" => essaim_core::proposal::PartialLines::Omit,
            _ => return None,
        };
        Some(BidButton { partial_lines, tender: TenderRef::parse("tender", tender).ok()? })
    }
}

/// The facilitator's buttons on a structure's request to give back a lot: confirm (`wy:N:REF`) or refuse
/// (`wn:N:REF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalButton {
    pub confirm: bool,
    pub offer: OfferId,
    pub tender: TenderRef,
}

impl WithdrawalButton {
    pub fn data(&self) -> String {
        format!("{}:{}:{}", if self.confirm { "wy" } else { "wn" }, self.offer, self.tender)
    }

    pub fn parse(data: &str) -> Option<WithdrawalButton> {
        let mut parts = data.splitn(3, ':');
        let confirm = match parts.next()? {
            "wy" => true,
            "wn" => false,
            _ => return None,
        };
        let offer = parts.next()?.parse().ok()?;
        Some(WithdrawalButton { confirm, offer, tender: TenderRef::parse("tender", parts.next()?).ok()? })
    }
}

/// The buttons under `/oublier`: erase (`fy:USER`) or keep (`fn:USER`) the account of `user_id`. The
/// presser must be that user: in a group chat, a colleague's press erases nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgetButton {
    pub confirm: bool,
    pub user_id: String,
}

impl ForgetButton {
    pub fn data(&self) -> String {
        format!("{}:{}", if self.confirm { "fy" } else { "fn" }, self.user_id)
    }

    pub fn parse(data: &str) -> Option<ForgetButton> {
        let (choice, user_id) = data.split_once(':')?;
        let confirm = match choice {
            "fy" => true,
            "fn" => false,
            _ => return None,
        };
        (!user_id.is_empty()).then(|| ForgetButton { confirm, user_id: user_id.to_owned() })
    }
}

/// The largest number anyone types in a chat (a quantity, a capacity, a price): ten million. Beyond, it
/// is a slip (`1e308`), not a capacity, and it would swamp every sum it enters.
pub const MAX_TYPED_NUMBER: f64 = 10_000_000.0;

/// A quantity as people type it: `25`, `25,5`, `25.5`, `25 h`; `None` for anything else, or above
/// [`MAX_TYPED_NUMBER`].
pub fn parse_quantity(text: &str) -> Option<f64> {
    let cleaned: String = text
        .trim()
        .trim_end_matches(|c: char| c.is_alphabetic() || c.is_whitespace())
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{202f}' && *c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let value: f64 = cleaned.parse().ok()?;
    (value.is_finite() && value.abs() <= MAX_TYPED_NUMBER).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_found_by_english_name_french_alias_and_accented_spelling() {
        assert_eq!(Command::parse("allocate"), Some(Command::Allocate));
        assert_eq!(Command::parse("REPARTIR"), Some(Command::Allocate));
        assert_eq!(Command::parse("capacité"), Some(Command::Capacity));
        assert_eq!(Command::parse("état"), Some(Command::Status));
        assert_eq!(Command::parse("mes_lots"), Some(Command::Lots));
        assert_eq!(Command::parse("frobnicate"), None);
        assert_eq!(Command::Allocate.french(), "repartir");
    }

    #[test]
    fn button_data_round_trips_and_forgeries_are_rejected() {
        let tender = TenderRef::parse("t", "T-2026-014").expect("valid");
        let b = OfferButton { action: OfferAction::Part, offer: 12, tender };
        assert_eq!(b.data(), "pt:12:T-2026-014");
        assert_eq!(OfferButton::parse(&b.data()), Some(b));
        for bad in ["", "ok", "ok:x:T-1", "zz:1:T-1", "ok:1:", "ok:-1:T-1", "ok:1:T 1"] {
            assert_eq!(OfferButton::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bid_buttons_round_trip_and_do_not_read_as_offer_buttons() {
        let tender = TenderRef::parse("t", "T-1").expect("valid");
        let b = BidButton { partial_lines: essaim_core::proposal::PartialLines::Omit, tender };
        assert_eq!(b.data(), "bo:T-1");
        assert_eq!(BidButton::parse(&b.data()), Some(b.clone()));
        assert_eq!(OfferButton::parse(&b.data()), None);
        assert_eq!(BidButton::parse("ok:1:T-1"), None);
        assert_eq!(Command::parse("tarif"), Some(Command::Price));
        assert_eq!(Command::parse("mandataire"), Some(Command::Lead));
    }

    #[test]
    fn forget_buttons_name_their_user_and_do_not_read_as_other_buttons() {
        let b = ForgetButton { confirm: true, user_id: "123456789".into() };
        assert_eq!(b.data(), "fy:123456789");
        assert_eq!(ForgetButton::parse(&b.data()), Some(b.clone()));
        assert_eq!(ForgetButton::parse("fn:42"), Some(ForgetButton { confirm: false, user_id: "42".into() }));
        for bad in ["fy", "fy:", "fx:42", "ok:1:T-1"] {
            assert_eq!(ForgetButton::parse(bad), None, "{bad}");
        }
        assert_eq!(OfferButton::parse(&b.data()), None);
        assert_eq!(WithdrawalButton::parse(&b.data()), None);
        assert_eq!(Command::parse("oublier"), Some(Command::Forget));
    }

    #[test]
    fn quantities_accept_decimal_commas_and_units() {
        assert_eq!(parse_quantity("25"), Some(25.0));
        assert_eq!(parse_quantity(" 25,5 h"), Some(25.5));
        assert_eq!(parse_quantity("1 200"), Some(1200.0));
        assert_eq!(parse_quantity("beaucoup"), None);
        assert_eq!(parse_quantity("inf"), None);
        assert_eq!(parse_quantity("1e308"), None, "a slip, not a capacity");
        assert_eq!(parse_quantity("10000001"), None);
        assert_eq!(parse_quantity("2 500"), Some(2500.0));
    }
}
