//! What kind of inclusive structure a supplier is, which legal family that puts it in, how it takes part
//! in a contract, and which reserved lots it may answer.
//!
//! The families are those of French law, and they do not overlap:
//! - **IAE** (insertion par l'activité économique, code du travail L5132-4): EI, ETTI, AI, ACI — and the
//!   EITI, created as an experiment by the loi « Avenir professionnel » of 5 September 2018. These are the
//!   SIAE.
//! - **disability employment**: ESAT (code de l'action sociale et des familles L344-2), EA (code du travail
//!   L5213-13), EATT (EA de travail temporaire, same 2018 law) and TIH (travailleurs indépendants
//!   handicapés); what a buyer buys from EA, ESAT and TIH is deductible from its disability-employment
//!   contribution (OETH, code du travail L5212-10-1).
//! - a **GEIQ** (groupement d'employeurs pour l'insertion et la qualification, L1253-1) is in neither: it is
//!   not conventionné IAE and must never be counted or labelled as an SIAE.
//!
//! How a structure takes part ([`ParticipationMode`]): EI, ACI, EITI, ESAT, EA and TIH carry out the work
//! themselves, as co-contractor or subcontractor (*exécution*); AI, ETTI, EATT and GEIQ place their
//! employees with a user who directs the work (*mise à disposition*) — they do not carry out a lot.
//!
//! Reserved lots ([`Reservation`], Code de la commande publique): L2113-12 reserves a contract or a lot to
//! EA, ESAT « ainsi qu'à des structures équivalentes » (here ESAT, EA and EATT, an EA by law); L2113-13 to
//! the SIAE of L5132-4 and equivalent structures (EI, ETTI, AI, ACI, EITI). A GEIQ qualifies for neither.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// The legal form of an inclusive supplier (families and modes in the module header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SupplierKind {
    Ei,
    Etti,
    Ai,
    Aci,
    Eiti,
    Geiq,
    Esat,
    Ea,
    Eatt,
    Tih,
}

/// The legal family of a kind. A GEIQ belongs to none ([`SupplierKind::family`] is `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindFamily {
    /// Insertion par l'activité économique: the SIAE.
    Iae,
    /// Employment of disabled workers: ESAT, EA, EATT, TIH (counts toward the buyer's OETH).
    Disability,
}

impl KindFamily {
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (Self::Iae, crate::Lang::Fr) => "SIAE (insertion par l'activité économique)",
            (Self::Iae, crate::Lang::En) => "SIAE (work integration social enterprises)",
            (Self::Disability, crate::Lang::Fr) => "emploi de travailleurs handicapés (ESAT, EA, EATT, TIH)",
            (Self::Disability, crate::Lang::En) => "employment of disabled workers (ESAT, EA, EATT, TIH)",
        }
    }
}

/// How a structure takes part in a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipationMode {
    /// Co-traitance or sous-traitance: the structure carries out the lot itself.
    Execution,
    /// The structure places its employees with a user who directs the work.
    MiseADisposition,
}

impl ParticipationMode {
    pub const ALL: [ParticipationMode; 2] = [Self::Execution, Self::MiseADisposition];

    /// The name in files and the allocation input: `execution`, `mise_a_disposition`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Execution => "execution",
            Self::MiseADisposition => "mise_a_disposition",
        }
    }

    pub fn label(self, lang: crate::Lang) -> &'static str {
        match (self, lang) {
            (Self::Execution, crate::Lang::Fr) => "exécution (co-traitance ou sous-traitance)",
            (Self::Execution, crate::Lang::En) => "carrying out the work (co- or subcontracting)",
            (Self::MiseADisposition, crate::Lang::Fr) => "mise à disposition de salariés",
            (Self::MiseADisposition, crate::Lang::En) => "placing employees with the user (mise à disposition)",
        }
    }

    /// Parses `execution` / `mise_a_disposition` (case, accents, spaces and hyphens tolerated).
    pub fn parse_field(field: &str, value: &str) -> Result<Self, DomainError> {
        let folded = fold(value);
        Self::ALL.into_iter().find(|m| m.as_str() == folded).ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("« {} » is not a participation mode (expected execution or mise_a_disposition)", value.trim()),
            )
        })
    }

    /// The modes a line accepts when it says nothing: execution only.
    pub fn default_accepted() -> Vec<ParticipationMode> {
        vec![Self::Execution]
    }
}

/// A line reserved by the buyer to one family (Code de la commande publique).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reservation {
    /// L2113-12: entreprises adaptées, ESAT and equivalent structures.
    Handicap,
    /// L2113-13: structures d'insertion par l'activité économique (L5132-4 code du travail).
    Insertion,
}

impl Reservation {
    pub const ALL: [Reservation; 2] = [Self::Handicap, Self::Insertion];

    /// The name in files: `handicap`, `insertion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Handicap => "handicap",
            Self::Insertion => "insertion",
        }
    }

    /// The article of the Code de la commande publique that allows the reservation.
    pub fn article(self) -> &'static str {
        match self {
            Self::Handicap => "L2113-12",
            Self::Insertion => "L2113-13",
        }
    }

    /// The kinds that may answer a line with this reservation.
    pub fn kinds(self) -> &'static [SupplierKind] {
        use SupplierKind::*;
        match self {
            Self::Handicap => &[Esat, Ea, Eatt],
            Self::Insertion => &[Ei, Etti, Ai, Aci, Eiti],
        }
    }

    pub fn admits(self, kind: SupplierKind) -> bool {
        self.kinds().contains(&kind)
    }

    pub fn label(self, lang: crate::Lang) -> String {
        let kinds: Vec<&str> = self.kinds().iter().map(|k| k.code()).collect();
        match lang {
            crate::Lang::Fr => {
                format!("réservé (art. {} du code de la commande publique : {})", self.article(), kinds.join(", "))
            }
            crate::Lang::En => {
                format!(
                    "reserved (art. {} of the French public procurement code: {})",
                    self.article(),
                    kinds.join(", ")
                )
            }
        }
    }

    pub fn parse_field(field: &str, value: &str) -> Result<Self, DomainError> {
        let folded = fold(value);
        Self::ALL.into_iter().find(|r| r.as_str() == folded).ok_or_else(|| {
            DomainError::invalid(
                field,
                format!(
                    "« {} » is not a reservation (expected handicap — art. L2113-12 — or insertion — art. L2113-13)",
                    value.trim()
                ),
            )
        })
    }
}

/// Lower case, no accents, `_` for spaces and hyphens: `Mise à disposition` → `mise_a_disposition`.
fn fold(value: &str) -> String {
    value
        .trim()
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'é' | 'è' | 'ê' => 'e',
            'à' | 'â' => 'a',
            ' ' | '-' => '_',
            other => other,
        })
        .collect()
}

impl SupplierKind {
    pub const ALL: [SupplierKind; 10] = [
        Self::Ei,
        Self::Etti,
        Self::Ai,
        Self::Aci,
        Self::Eiti,
        Self::Geiq,
        Self::Esat,
        Self::Ea,
        Self::Eatt,
        Self::Tih,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Ei => "EI",
            Self::Etti => "ETTI",
            Self::Ai => "AI",
            Self::Aci => "ACI",
            Self::Eiti => "EITI",
            Self::Geiq => "GEIQ",
            Self::Esat => "ESAT",
            Self::Ea => "EA",
            Self::Eatt => "EATT",
            Self::Tih => "TIH",
        }
    }

    /// The kind's full name, in French (the legal names have no English equivalent).
    pub fn name_fr(self) -> &'static str {
        match self {
            Self::Ei => "entreprise d'insertion",
            Self::Etti => "entreprise de travail temporaire d'insertion",
            Self::Ai => "association intermédiaire",
            Self::Aci => "atelier et chantier d'insertion",
            Self::Eiti => "entreprise d'insertion par le travail indépendant",
            Self::Geiq => "groupement d'employeurs pour l'insertion et la qualification",
            Self::Esat => "établissement et service d'accompagnement par le travail",
            Self::Ea => "entreprise adaptée",
            Self::Eatt => "entreprise adaptée de travail temporaire",
            Self::Tih => "travailleur indépendant handicapé",
        }
    }

    /// IAE, disability employment, or neither (GEIQ).
    pub fn family(self) -> Option<KindFamily> {
        match self {
            Self::Ei | Self::Etti | Self::Ai | Self::Aci | Self::Eiti => Some(KindFamily::Iae),
            Self::Esat | Self::Ea | Self::Eatt | Self::Tih => Some(KindFamily::Disability),
            Self::Geiq => None,
        }
    }

    /// Whether the structure is an SIAE (IAE family). A GEIQ is not.
    pub fn is_siae(self) -> bool {
        self.family() == Some(KindFamily::Iae)
    }

    /// Whether the structure employs disabled workers in the sense of the OETH (ESAT, EA, EATT, TIH).
    pub fn is_disability_employment(self) -> bool {
        self.family() == Some(KindFamily::Disability)
    }

    /// How the structure takes part in a contract.
    pub fn mode(self) -> ParticipationMode {
        match self {
            Self::Ai | Self::Etti | Self::Eatt | Self::Geiq => ParticipationMode::MiseADisposition,
            Self::Ei | Self::Aci | Self::Eiti | Self::Esat | Self::Ea | Self::Tih => ParticipationMode::Execution,
        }
    }

    pub fn parse_field(field: &str, value: &str) -> Result<Self, DomainError> {
        let upper = value.trim().to_uppercase();
        Self::ALL
            .into_iter()
            .find(|kind| kind.code() == upper)
            .ok_or_else(|| DomainError::UnknownKind { field: field.to_owned(), value: value.trim().to_owned() })
    }
}

impl fmt::Display for SupplierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for SupplierKind {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_field("kind", s)
    }
}

impl fmt::Display for ParticipationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SupplierKind::*;

    #[test]
    fn families_do_not_overlap_and_a_geiq_is_in_none() {
        let iae: Vec<_> = SupplierKind::ALL.into_iter().filter(|k| k.is_siae()).collect();
        let disability: Vec<_> = SupplierKind::ALL.into_iter().filter(|k| k.is_disability_employment()).collect();
        assert_eq!(iae, [Ei, Etti, Ai, Aci, Eiti]);
        assert_eq!(disability, [Esat, Ea, Eatt, Tih]);
        assert_eq!(Geiq.family(), None);
        assert!(!Geiq.is_siae() && !Geiq.is_disability_employment());
    }

    #[test]
    fn placement_kinds_do_not_carry_out_lots() {
        let placing: Vec<_> =
            SupplierKind::ALL.into_iter().filter(|k| k.mode() == ParticipationMode::MiseADisposition).collect();
        assert_eq!(placing, [Etti, Ai, Geiq, Eatt]);
    }

    #[test]
    fn reservations_follow_the_code_de_la_commande_publique() {
        assert_eq!(Reservation::Handicap.article(), "L2113-12");
        assert_eq!(Reservation::Insertion.article(), "L2113-13");
        for kind in SupplierKind::ALL {
            assert_eq!(Reservation::Insertion.admits(kind), kind.is_siae(), "{kind}");
        }
        assert!(Reservation::Handicap.admits(Esat) && Reservation::Handicap.admits(Eatt));
        assert!(!Reservation::Handicap.admits(Tih), "a TIH is not an EA/ESAT or an equivalent structure");
        assert!(!Reservation::Handicap.admits(Geiq) && !Reservation::Insertion.admits(Geiq));
    }

    #[test]
    fn names_parse_with_the_spellings_people_use() {
        assert_eq!("eatt".parse::<SupplierKind>().unwrap(), Eatt);
        assert_eq!("TIH".parse::<SupplierKind>().unwrap(), Tih);
        assert!("SCOP".parse::<SupplierKind>().unwrap_err().to_string().contains("SCOP"));
        assert_eq!(
            ParticipationMode::parse_field("p", "Mise à disposition").unwrap(),
            ParticipationMode::MiseADisposition
        );
        assert_eq!(Reservation::parse_field("r", " Handicap ").unwrap(), Reservation::Handicap);
        let err = Reservation::parse_field("lines[0].reserved", "esat").unwrap_err();
        assert_eq!(err.field(), "lines[0].reserved");
        assert!(err.to_string().contains("L2113-12"), "{err}");
    }
}
