use serde::{Deserialize, Serialize};

use crate::{ParticipationMode, Reservation};

/// The language of user-facing text. French by default: essaim's users are French facilitators and SIAE.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Fr,
    En,
}

/// The part of a tender line given to one supplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicroLot {
    pub line: String,
    pub supplier: String,
    pub quantity: f64,
    pub distance_km: f64,
    /// A lot committed earlier (an input `fixed` lot), reported as it was; a pair may also get a new
    /// lot on top of it, reported right after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
}

/// Clause hours of a line that the allocation does not reach, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClauseShortfall {
    pub line: String,
    /// h_l − Σ r_s·x_{s,l} (fixed lots included).
    pub hours: f64,
    /// The cause in English (stable text of the JSON contract).
    pub reason: String,
    #[serde(skip)]
    pub cause: ClauseCause,
}

/// Why a line's social clause is not met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub enum ClauseCause {
    /// The structures that may take the line (in reach, eligible, not declined) could give at most this
    /// many clause hours at their insertion rates, even with the whole line.
    OutOfReach { achievable: f64 },
    /// More was possible, but at a cost above the clause penalty (capacity needed elsewhere, distance).
    #[default]
    NotWorthIt,
    /// The solver stopped at its time limit before proving it could do better.
    TimeLimit,
}

impl ClauseCause {
    pub fn render(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::OutOfReach { achievable }, Lang::En) => format!(
                "cannot be met: the structures that may take this line give at most {} clause hours at their insertion rates",
                crate::format_number(*achievable, 1, Lang::En)
            ),
            (Self::OutOfReach { achievable }, Lang::Fr) => format!(
                "inatteignable : les structures qui peuvent prendre cette ligne apportent au plus {} h d'insertion à leurs taux",
                crate::format_number(*achievable, 1, Lang::Fr)
            ),
            (Self::NotWorthIt, Lang::En) => {
                "the structures with the highest insertion rates are at capacity, at their maximum share or far: \
                 reaching the clause would cost more than its penalty under the weights"
                    .to_owned()
            }
            (Self::NotWorthIt, Lang::Fr) => {
                "les structures aux taux d'insertion les plus élevés sont à pleine capacité, à leur part maximale ou \
                 trop loin : atteindre la clause coûterait plus que sa pénalité"
                    .to_owned()
            }
            (Self::TimeLimit, Lang::En) => "not reached within the solver time limit".to_owned(),
            (Self::TimeLimit, Lang::Fr) => "non atteinte dans le temps imparti au calcul".to_owned(),
        }
    }
}

/// What of a line nobody could take, and why, in words a facilitator understands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortfall {
    pub line: String,
    pub quantity: f64,
    /// The causes rendered in English (the stable text of the JSON contract).
    pub reason: String,
    /// The same causes, structured, to render in another language or with supplier names.
    #[serde(skip)]
    pub causes: Vec<ShortfallCause>,
}

/// One reason why part of a line stays uncovered. Suppliers are given by id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShortfallCause {
    /// Nobody in the directory works in this sector.
    NoSupplierInSector {
        sector: String,
    },
    /// Suppliers of the sector exist but none within its travel radius (or they declined).
    NoneWithinReach {
        sector: String,
        declined: usize,
        nearest: Option<(String, f64, f64)>,
    },
    CapacityExhausted {
        suppliers: Vec<String>,
        sector: String,
    },
    MaxShareReached {
        suppliers: Vec<String>,
        percent: f64,
    },
    MinLotTooLarge {
        suppliers: Vec<String>,
    },
    /// Lots held from an earlier round are kept and cannot grow. `suppliers`: lots accepted (or, from
    /// the solver alone, which does not know answers: kept); `pending`: lots still offered, awaiting an
    /// answer (a campaign tells them apart, see `Campaign::offers_made`).
    AcceptedLotsKept {
        suppliers: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pending: Vec<String>,
    },
    TooFarForTheWeights {
        suppliers: Vec<String>,
    },
    TimeLimit {
        suppliers: Vec<String>,
    },
    Declined {
        count: usize,
    },
    /// Structures in reach with capacity that the line's rules leave out: its reservation (Code de la
    /// commande publique L2113-12 / L2113-13) or the participation modes it accepts. `only`: nobody else
    /// was eligible, so these rules are the whole cause.
    Ineligible {
        sector: String,
        reservation: Option<Reservation>,
        reserved_out: Vec<String>,
        modes: Vec<ParticipationMode>,
        mode_out: Vec<String>,
        only: bool,
    },
}

fn names(ids: &[String], name: &dyn Fn(&str) -> String, lang: Lang) -> String {
    const SHOWN: usize = 4;
    let shown: Vec<String> = ids.iter().take(SHOWN).map(|id| name(id)).collect();
    if ids.len() <= SHOWN {
        shown.join(", ")
    } else {
        let others = ids.len() - SHOWN;
        match lang {
            Lang::Fr => format!("{} et {others} autres", shown.join(", ")),
            Lang::En => format!("{} and {others} others", shown.join(", ")),
        }
    }
}

/// Lots kept from an earlier round, saying which are accepted and which still await an answer: a lot
/// still offered is not « déjà accepté ».
fn kept_lots(accepted: &[String], pending: &[String], lang: Lang, name: &dyn Fn(&str) -> String) -> String {
    let (a, p) = (names(accepted, name, lang), names(pending, name, lang));
    match (accepted.is_empty(), pending.is_empty(), lang) {
        (_, true, Lang::En) => format!("accepted lots kept as they are ({a})"),
        (_, true, Lang::Fr) => format!("lots déjà acceptés conservés ({a})"),
        (true, false, Lang::En) => format!("lots still awaiting an answer kept as offered ({p})"),
        (true, false, Lang::Fr) => format!("lots encore en attente de réponse, maintenus tels que proposés ({p})"),
        (false, false, Lang::En) => format!("lots kept as they are: accepted ({a}); still awaiting an answer ({p})"),
        (false, false, Lang::Fr) => {
            format!("lots conservés tels quels : acceptés ({a}) ; encore en attente de réponse ({p})")
        }
    }
}

impl ShortfallCause {
    /// Renders the cause; `name` maps a supplier id to what the reader should see (its name, or the id).
    pub fn render(&self, lang: Lang, name: &dyn Fn(&str) -> String) -> String {
        use ShortfallCause::*;
        match (self, lang) {
            (NoSupplierInSector { sector }, Lang::En) => format!("no supplier has {sector} capacity"),
            (NoSupplierInSector { sector }, Lang::Fr) => format!("aucune structure n'a de capacité en {sector}"),
            (NoneWithinReach { sector, declined, nearest }, _) => {
                let mut text = match lang {
                    Lang::En => format!("no supplier with {sector} capacity within reach"),
                    Lang::Fr => format!("aucune structure de {sector} dans son rayon d'intervention"),
                };
                if *declined > 0 {
                    text.push_str(&match lang {
                        Lang::En => format!(" ({declined} in reach declined)"),
                        Lang::Fr => format!(" ({declined} à portée ont refusé)"),
                    });
                }
                if let Some((id, d, radius)) = nearest {
                    text.push_str(&match lang {
                        Lang::En => format!("; nearest: {} at {d:.1} km, travels up to {radius} km", name(id)),
                        // Only the numbers take a decimal comma: a name may hold a point (« St. Fons »).
                        Lang::Fr => format!(
                            "; la plus proche : {} à {} km, se déplace jusqu'à {} km",
                            name(id),
                            crate::format_number(*d, 1, Lang::Fr),
                            format!("{radius}").replace('.', ",")
                        ),
                    });
                }
                text
            }
            (CapacityExhausted { suppliers, sector }, Lang::En) => {
                format!("capacity exhausted ({} fully booked in {sector})", names(suppliers, name, lang))
            }
            (CapacityExhausted { suppliers, sector }, Lang::Fr) => {
                format!("capacité épuisée ({} : plus de capacité en {sector})", names(suppliers, name, lang))
            }
            (MaxShareReached { suppliers, percent }, Lang::En) => {
                format!("max share reached ({} already at {percent:.0}% of the line)", names(suppliers, name, lang))
            }
            (MaxShareReached { suppliers, percent }, Lang::Fr) => {
                format!("part maximale atteinte ({} déjà à {percent:.0} % de la ligne)", names(suppliers, name, lang))
            }
            (MinLotTooLarge { suppliers }, Lang::En) => {
                format!("min lots too large ({}: minimum lot above what is left to give)", names(suppliers, name, lang))
            }
            (MinLotTooLarge { suppliers }, Lang::Fr) => {
                format!(
                    "lots minimum trop grands ({} : lot minimum supérieur au reste à répartir)",
                    names(suppliers, name, lang)
                )
            }
            (AcceptedLotsKept { suppliers, pending }, _) => kept_lots(suppliers, pending, lang, name),
            (TooFarForTheWeights { suppliers }, Lang::En) => {
                format!("too far to be worth covering under the weights ({})", names(suppliers, name, lang))
            }
            (TooFarForTheWeights { suppliers }, Lang::Fr) => {
                format!("trop loin pour être rentable avec les pondérations ({})", names(suppliers, name, lang))
            }
            (TimeLimit { suppliers }, Lang::En) => {
                format!("not placed within the solver time limit ({})", names(suppliers, name, lang))
            }
            (TimeLimit { suppliers }, Lang::Fr) => {
                format!("non placé dans le temps imparti au calcul ({})", names(suppliers, name, lang))
            }
            (Declined { count }, Lang::En) => format!("{count} declined"),
            (Declined { count }, Lang::Fr) => format!("{count} refus"),
            (Ineligible { sector, reservation, reserved_out, modes, mode_out, only }, _) => {
                let mut parts = Vec::new();
                if let Some(r) = reservation
                    && !reserved_out.is_empty()
                {
                    let kinds: Vec<&str> = r.kinds().iter().map(|k| k.code()).collect();
                    parts.push(match lang {
                        Lang::En => format!(
                            "{} (the line is reserved under art. {}: {} only)",
                            names(reserved_out, name, lang),
                            r.article(),
                            kinds.join(", ")
                        ),
                        Lang::Fr => format!(
                            "{} (ligne réservée, art. {} : {} seulement)",
                            names(reserved_out, name, lang),
                            r.article(),
                            kinds.join(", ")
                        ),
                    });
                }
                if !mode_out.is_empty() {
                    let accepted: Vec<&str> = modes.iter().map(|m| m.label(lang)).collect();
                    parts.push(match lang {
                        Lang::En => format!(
                            "{} (they place employees with the user; the line accepts only {})",
                            names(mode_out, name, lang),
                            accepted.join(", ")
                        ),
                        Lang::Fr => format!(
                            "{} (mise à disposition de salariés ; la ligne n'accepte que {})",
                            names(mode_out, name, lang),
                            accepted.join(", ")
                        ),
                    });
                }
                match (lang, only) {
                    (Lang::En, true) => {
                        format!("no eligible supplier with {sector} capacity within reach: {}", parts.join("; "))
                    }
                    (Lang::En, false) => format!("not eligible: {}", parts.join("; ")),
                    (Lang::Fr, true) => {
                        format!(
                            "aucune structure éligible de {sector} dans son rayon d'intervention : {}",
                            parts.join(" ; ")
                        )
                    }
                    (Lang::Fr, false) => format!("non éligibles : {}", parts.join(" ; ")),
                }
            }
        }
    }

    /// Renders a list of causes joined by `; `.
    pub fn render_all(causes: &[ShortfallCause], lang: Lang, name: &dyn Fn(&str) -> String) -> String {
        causes.iter().map(|c| c.render(lang, name)).collect::<Vec<_>>().join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_take_a_decimal_comma_and_names_stay_as_written() {
        let cause = ShortfallCause::NoneWithinReach {
            sector: "nettoyage".into(),
            declined: 0,
            nearest: Some(("S1".into(), 42.25, 37.5)),
        };
        let name = |_: &str| "Atelier St. Fons".to_owned();
        let fr = cause.render(Lang::Fr, &name);
        assert!(fr.contains("Atelier St. Fons à 42,2 km") || fr.contains("Atelier St. Fons à 42,3 km"), "{fr}");
        assert!(fr.ends_with("jusqu'à 37,5 km"), "{fr}");
        let en = cause.render(Lang::En, &name);
        assert!(en.contains("Atelier St. Fons at 42.") && en.ends_with("up to 37.5 km"), "{en}");
    }

    #[test]
    fn a_lot_still_offered_is_not_called_accepted() {
        let name = |id: &str| id.to_owned();
        let mixed =
            ShortfallCause::AcceptedLotsKept { suppliers: vec!["Atelier A".into()], pending: vec!["Régie B".into()] };
        assert_eq!(
            mixed.render(Lang::Fr, &name),
            "lots conservés tels quels : acceptés (Atelier A) ; encore en attente de réponse (Régie B)"
        );
        assert_eq!(
            mixed.render(Lang::En, &name),
            "lots kept as they are: accepted (Atelier A); still awaiting an answer (Régie B)"
        );
        let pending = ShortfallCause::AcceptedLotsKept { suppliers: vec![], pending: vec!["Régie B".into()] };
        let fr = pending.render(Lang::Fr, &name);
        assert!(!fr.contains("accept"), "{fr}");
        assert_eq!(fr, "lots encore en attente de réponse, maintenus tels que proposés (Régie B)");
        assert_eq!(pending.render(Lang::En, &name), "lots still awaiting an answer kept as offered (Régie B)");
        // Events written before `pending` existed read back as accepted lots, as they were shown.
        let old: ShortfallCause =
            serde_json::from_str(r#"{"AcceptedLotsKept":{"suppliers":["S1"]}}"#).expect("old event");
        assert_eq!(old, ShortfallCause::AcceptedLotsKept { suppliers: vec!["S1".into()], pending: vec![] });
    }
}
