//! The proposal as an OCDS 1.1 release package (Open Contracting Data Standard), valid against the official
//! 1.1.5 `release-package-schema.json`, for buyers and observatories that read procurement data in OCDS.
//!
//! One release, tagged `tender` (a bid belongs to the tender stage; nothing is awarded yet), carries:
//! - `parties`: the buyer (role `buyer`) and every member of the groupement (role `tenderer`, plus
//!   `leadTenderer` for the mandataire), identified by SIRET under the `FR-RCS` scheme (see [`IDENTIFIER_SCHEME`]);
//! - `tender`: one item and one lot per tender line (lots extension), with quantities, unit prices and
//!   contract periods; an item is classified by the line's CPV code when it has one (scheme `CPV`, the
//!   sector then in `additionalClassifications`), else by its sector (see [`SECTOR_SCHEME`]);
//! - `bids.details` (bid extension): the grouped bid first (all tenderers, the lead named in `leadTenderer`
//!   and in words, per-item quantities = what the groupement covers), then one bid per micro-lot with the
//!   commitment behind it.
//!
//! Pure and deterministic: the same proposal and options give the same package, byte for byte. Nothing is
//! emitted as `null`, empty string, empty array or empty object.

use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde_json::{Map, Value, json};

use super::{
    Acceptance, Currency, Member, Proposal, ProposalLine, ProposalLot, ProposalStatus, ShareBasis, round_money,
};
use crate::{Lang, format_quantity};

/// The OCDS version the package declares (`major.minor`); the schemas it is checked against are 1.1.5.
pub const OCDS_VERSION: &str = "1.1";
/// Bid extension: `bids.details` (not in the 1.1 core).
pub const BID_EXTENSION: &str =
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json";
/// Lots extension: `tender.lots`, `items.relatedLot`, `bids.details.relatedLots` (not in the 1.1 core).
pub const LOTS_EXTENSION: &str =
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json";
/// The org-id.guide list every party with a SIRET is identified under, the 14-digit SIRET as `identifier.id`
/// (party id `FR-RCS-<siret>`), whatever the body: company, association (an AI, most ACI and ESAT), public
/// body (most buyers) or individual entrepreneur (a TIH).
///
/// Why this list for all of them, from org-id.guide's own register (github.com/org-id/register, `lists/fr/`,
/// read at its commit f500b45 of July 2026; the French lists last changed on 5 February 2025), which has three
/// French lists:
/// - `fr-rcs.json`, code `FR-RCS` (« Trade and Companies Register », `listType` secondary, `deprecated`
///   false): its description defines both the SIREN (9 digits, the legal unit) and the SIRET (14 digits, an
///   establishment of it), says that what it holds on bodies outside the RCS comes from INSEE's SIRENE
///   directory, points to the SIRENE open data, and gives SIREN and SIRET alike in `exampleIdentifiers`;
/// - `fr-insee.json`, code `FR-INSEE` (INSEE's SIRENE, « companies and associations »): `deprecated` true,
///   `listType` deprecated, « deprecated in favour of FR-RCS »;
/// - `fr-coa.json`, code `FR-COA` (government chart of accounts): no codes extracted for France, not a SIRET.
///
/// There is no list for the RNA (associations' register) or for SIRENE apart. So org-id.guide points every
/// SIREN/SIRET-numbered body to `FR-RCS`, the name notwithstanding, and the French open procurement data
/// (DECP) does the same in its OCDS conversion, for buyers (public bodies) and suppliers alike; our ids match
/// theirs. We know the SIRET of every party, never the legal form for sure, so no party is given another
/// scheme on a guess. The SIRET, not the SIREN, because the establishment is what bids (the SIREN is its first
/// nine digits).
pub const IDENTIFIER_SCHEME: &str = "FR-RCS";
/// Item classification scheme of a line's CPV code (OCDS codelist `itemClassificationScheme`). The id is the
/// eight digits without the check digit, as the UK's Find a Tender and eForms write it; the codelist allows
/// both and the check digit adds nothing a reader cannot compute.
pub const CPV_SCHEME: &str = "CPV";
/// Item classification scheme for essaim's sector taxonomy (`nettoyage`, `espaces_verts`…): a local scheme,
/// `x_`-prefixed as OCDS asks for codes outside its codelists. The classification of a line without a CPV
/// code; an additional classification of one with it.
pub const SECTOR_SCHEME: &str = "x_essaim_sector";
/// Party id of a buyer without a SIRET.
pub const BUYER_WITHOUT_SIRET: &str = "buyer";
/// Id of the grouped bid in `bids.details`; micro-lots are `offer-<offer number>`.
pub const GROUPED_BID_ID: &str = "groupement";

/// Who publishes the package and under which OCID prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcdsOptions {
    /// Prefix of the Open Contracting ID (`ocid` = prefix + `-` + tender reference). The default
    /// `ocds-essaim` is NOT registered: a publisher should register its own prefix with the Open Contracting
    /// Partnership (free, `ocds-` + six characters) so that its ocids are globally unique.
    pub ocid_prefix: String,
    /// `publisher.name` of the package.
    pub publisher: String,
    /// The absolute URI where this package can be fetched (e.g. the API's address of the proposal). Without
    /// one, the package is named by a non-dereferenceable `urn:essaim:ocds:…` built from its release id.
    pub uri: Option<String>,
}

impl Default for OcdsOptions {
    fn default() -> Self {
        Self { ocid_prefix: "ocds-essaim".into(), publisher: "essaim".into(), uri: None }
    }
}

/// Renders the proposal as an OCDS 1.1 release package holding one release.
pub fn release_package(proposal: &Proposal, options: &OcdsOptions) -> Value {
    let ocid = ocid(proposal, options);
    let compact = proposal.generated_at.format("%Y%m%dT%H%M%SZ").to_string();
    // A release id must not contain `#`; a tender reference may.
    let release_id = format!("{}-proposal-{compact}", ocid.replace('#', "%23"));
    let uri = options
        .uri
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| format!("urn:essaim:ocds:{}", percent_encode(&release_id)));
    let publisher = match options.publisher.trim() {
        "" => OcdsOptions::default().publisher,
        name => name.to_owned(),
    };
    let release = json!({
        "ocid": ocid,
        "id": release_id,
        "date": timestamp(&proposal.generated_at),
        "tag": ["tender"],
        "initiationType": "tender",
        "language": language(proposal.language),
        "parties": parties(proposal),
        "buyer": buyer_reference(proposal),
        "tender": tender(proposal),
        "bids": bids(proposal),
    });
    let package = json!({
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [BID_EXTENSION, LOTS_EXTENSION],
        "publishedDate": timestamp(&proposal.generated_at),
        "publisher": { "name": publisher },
        "releases": [release],
    });
    prune(package).unwrap_or_else(|| json!({}))
}

/// The Open Contracting ID of the proposal's tender under `options`.
pub fn ocid(proposal: &Proposal, options: &OcdsOptions) -> String {
    let prefix = options.ocid_prefix.trim().trim_end_matches('-');
    if prefix.is_empty() {
        proposal.tender.reference.clone()
    } else {
        format!("{prefix}-{}", proposal.tender.reference)
    }
}

/// The party id of an organisation identified by a SIRET.
pub fn party_id(siret: &str) -> String {
    format!("{IDENTIFIER_SCHEME}-{siret}")
}

fn language(lang: Lang) -> &'static str {
    match lang {
        Lang::Fr => "fr",
        Lang::En => "en",
    }
}

fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn buyer_id(proposal: &Proposal) -> String {
    proposal.tender.buyer.siret.as_ref().map(|s| party_id(s.as_str())).unwrap_or_else(|| BUYER_WITHOUT_SIRET.into())
}

fn buyer_reference(proposal: &Proposal) -> Value {
    json!({ "id": buyer_id(proposal), "name": proposal.tender.buyer.name })
}

fn member_reference(member: &Member) -> Value {
    json!({ "id": party_id(&member.siret), "name": member.name })
}

fn identifier(siret: &str, legal_name: &str) -> Value {
    json!({ "scheme": IDENTIFIER_SCHEME, "id": siret, "legalName": legal_name })
}

/// The buyer, then the members (lead first). An organisation appearing twice (a buyer that is also a
/// member) is one party with both roles.
fn parties(proposal: &Proposal) -> Vec<Value> {
    let mut parties: Vec<Map<String, Value>> = Vec::new();
    let mut add = |party: Value, roles: &[&str]| {
        let Value::Object(mut party) = party else { return };
        let index = match parties.iter().position(|p| p.get("id") == party.get("id")) {
            Some(i) => i,
            None => {
                party.insert("roles".into(), json!([]));
                parties.push(party);
                parties.len() - 1
            }
        };
        if let Some(Value::Array(have)) = parties[index].get_mut("roles") {
            for role in roles {
                if !have.iter().any(|r| r == role) {
                    have.push(json!(role));
                }
            }
        }
    };
    let buyer = &proposal.tender.buyer;
    let share_basis = match proposal.totals.share_basis {
        ShareBasis::Amount => Some("amount"),
        ShareBasis::Quantity => Some("quantity"),
        ShareBasis::Unavailable => None,
    };
    add(
        json!({
            "id": buyer_id(proposal),
            "name": buyer.name,
            "identifier": buyer.siret.as_ref().map(|s| identifier(s.as_str(), &buyer.name)),
        }),
        &["buyer"],
    );
    for m in &proposal.members {
        // A code the shipped table does not name stays a code, never a locality.
        let locality = m.commune.as_deref().map(str::trim).filter(|c| !c.is_empty() && !crate::is_insee_code(c));
        let commune_code = m.commune_code.as_deref();
        let roles: &[&str] = if m.lead { &["tenderer", "leadTenderer"] } else { &["tenderer"] };
        add(
            json!({
                "id": party_id(&m.siret),
                "name": m.name,
                "identifier": identifier(&m.siret, &m.name),
                "address": { "locality": locality },
                "details": {
                    "kind": m.kind.code(),
                    // `iae` or `disability`; absent for a GEIQ, which is in neither family.
                    "family": m.family,
                    "communeCode": commune_code,
                    "lots": m.lots,
                    "hours": m.hours,
                    "amount": m.amount,
                    "shareOfBid": m.share_of_bid,
                    "shareOfBidBasis": m.share_of_bid.and(share_basis),
                },
            }),
            roles,
        );
    }
    parties.into_iter().map(Value::Object).collect()
}

fn money(amount: f64) -> Value {
    json!({ "amount": amount, "currency": Currency::Eur.code() })
}

/// The line's title, else its sector.
fn line_description(line: &ProposalLine) -> String {
    line.title.as_deref().map(str::trim).filter(|t| !t.is_empty()).unwrap_or(&line.sector).to_owned()
}

/// An item of `line` for `quantity` (the tendered quantity, or what a bid offers of it).
fn item(line: &ProposalLine, quantity: f64) -> Value {
    let (scheme, code) = match uncefact_unit(&line.unit) {
        Some(code) => (Some("UNCEFACT"), Some(code)),
        None => (None, None),
    };
    let sector = json!({ "scheme": SECTOR_SCHEME, "id": line.sector });
    let (classification, additional) = match &line.cpv {
        Some(cpv) => (json!({ "scheme": CPV_SCHEME, "id": cpv.code() }), Some(json!([sector]))),
        None => (sector, None),
    };
    json!({
        "id": line.id,
        "description": line_description(line),
        "classification": classification,
        "additionalClassifications": additional,
        "quantity": quantity,
        "unit": {
            "scheme": scheme,
            "id": code,
            "name": line.unit,
            "value": line.unit_price.map(money),
        },
        "relatedLot": line.id,
    })
}

/// UN/CEFACT Recommendation 20 code of the common units, for machine readers.
fn uncefact_unit(unit: &str) -> Option<&'static str> {
    if crate::unit_is_hours(unit) {
        return Some("HUR");
    }
    Some(match unit.trim().to_lowercase().as_str() {
        "kg" => "KGM",
        "t" | "tonne" | "tonnes" => "TNE",
        "m2" | "m²" => "MTK",
        "m3" | "m³" => "MTQ",
        "m" | "ml" => "MTR",
        "km" => "KMT",
        "l" | "litre" | "litres" => "LTR",
        "j" | "jour" | "jours" | "day" | "days" => "DAY",
        _ => return None,
    })
}

fn tender(proposal: &Proposal) -> Value {
    let lines = &proposal.lines;
    let line_value = |l: &ProposalLine| l.unit_price.map(|p| round_money(l.quantity * p));
    // The estimated total only when every line has a price: a partial sum would read as the whole.
    let total = lines.iter().map(line_value).sum::<Option<f64>>().map(round_money);
    let lots: Vec<Value> = lines
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "title": l.title.as_deref().map(str::trim),
                "status": "active",
                "value": line_value(l).map(money),
                "contractPeriod": l.window.map(|w| json!({
                    "startDate": paris_time(w.start, 0, 0, 0),
                    "endDate": paris_time(w.end, 23, 59, 59),
                })),
            })
        })
        .collect();
    json!({
        "id": proposal.tender.reference,
        "title": proposal.tender.title.trim(),
        // The buyer's tender is still open while the groupement answers it.
        "status": "active",
        "items": lines.iter().map(|l| item(l, l.quantity)).collect::<Vec<_>>(),
        "lots": lots,
        "value": total.map(money),
        "tenderPeriod": proposal.tender.deadline.map(|d| json!({
            "endDate": d.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        })),
        "tenderers": proposal.members.iter().map(member_reference).collect::<Vec<_>>(),
    })
}

/// The grouped bid, then one bid per micro-lot. None when nobody holds a lot.
fn bids(proposal: &Proposal) -> Option<Value> {
    if proposal.members.is_empty() {
        return None;
    }
    // Nothing is sent in a draft: its bids have no status (`pending` = submitted, not yet evaluated).
    let status = (proposal.status == ProposalStatus::Final).then_some("pending");
    let covered: Vec<&ProposalLine> = proposal.lines.iter().filter(|l| l.covered > 0.0).collect();
    let totals = &proposal.totals;
    let grouped = json!({
        "id": GROUPED_BID_ID,
        "date": timestamp(&proposal.generated_at),
        "status": status,
        "description": grouped_description(proposal),
        "tenderers": proposal.members.iter().map(member_reference).collect::<Vec<_>>(),
        "leadTenderer": proposal.lead().map(member_reference),
        "value": totals.amount.filter(|_| totals.fully_priced).map(money),
        "items": covered.iter().map(|l| item(l, l.covered)).collect::<Vec<_>>(),
        "relatedLots": covered.iter().map(|l| l.id.as_str()).collect::<Vec<_>>(),
    });
    let mut details = vec![grouped];
    for line in &proposal.lines {
        for lot in &line.lots {
            let member = proposal.members.iter().find(|m| m.siret == lot.supplier);
            let tenderer = member
                .map(member_reference)
                .unwrap_or_else(|| json!({ "id": party_id(&lot.supplier), "name": lot.supplier_name }));
            let c = &lot.commitment;
            details.push(json!({
                "id": format!("offer-{}", lot.offer),
                "date": timestamp(&c.confirmed_at),
                "status": status,
                "description": lot_description(proposal.language, line, lot),
                "tenderers": [tenderer],
                "value": lot.amount.map(money),
                "items": [item(line, lot.quantity)],
                "relatedLots": [line.id],
                "distanceKm": lot.distance_km,
                "commitment": {
                    "answer": c.answer,
                    "offered": c.offered,
                    "confirmedAt": timestamp(&c.confirmed_at),
                    "channel": c.channel,
                    "confirmedBy": c.confirmed_by.as_deref().map(str::trim),
                },
            }));
        }
    }
    Some(json!({ "details": details }))
}

fn grouped_description(p: &Proposal) -> String {
    let lang = p.language;
    let fr = lang == Lang::Fr;
    let g = &p.groupement;
    let mut text = if fr {
        format!("Offre groupée : {} ({}).", g.name, g.kind.label(lang))
    } else {
        format!("Grouped bid: {} ({}).", g.name, g.kind.label(lang))
    };
    if let Some(lead) = p.lead() {
        let basis = match (g.lead_basis, fr) {
            (super::LeadBasis::Designated, true) => " ; désigné pour ce groupement constitué pour la consultation",
            (super::LeadBasis::Designated, false) => "; named for this groupement formed for the tender",
            _ => "",
        };
        text += &if fr {
            format!(" Mandataire : {} (SIRET {}{basis}).", lead.name, lead.siret)
        } else {
            format!(" Lead (mandataire): {} (SIRET {}{basis}).", lead.name, lead.siret)
        };
    }
    let structures = p.members.iter().filter(|m| m.lots > 0).count();
    text += &format!(" {structures} structure(s), {} micro-lot(s).", p.totals.lots);
    if p.status == ProposalStatus::Draft {
        let open = p.campaign.open_offers;
        text += &if fr {
            format!(" Projet : {open} offre(s) encore en attente de réponse.")
        } else {
            format!(" Draft: {open} offer(s) still awaiting an answer.")
        };
    }
    if !p.shortfall.is_empty() {
        let parts: Vec<String> = p
            .shortfall
            .iter()
            .map(|s| format!("{} {} {} — {}", s.line, format_quantity(s.quantity, lang), s.unit, s.reason))
            .collect();
        text += &if fr {
            format!(" Non couvert : {}.", parts.join(" ; "))
        } else {
            format!(" Not covered: {}.", parts.join("; "))
        };
    }
    text
}

fn lot_description(lang: Lang, line: &ProposalLine, lot: &ProposalLot) -> String {
    let c = &lot.commitment;
    let q = |v: f64| format!("{} {}", format_quantity(v, lang), lot.unit);
    let when = c.confirmed_at.format("%Y-%m-%d %H:%M UTC");
    let who = c.confirmed_by.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let part = c.answer == Acceptance::Part;
    match lang {
        Lang::Fr => {
            let mut t =
                format!("{} ({}) : {} par {}.", line.id, line_description(line), q(lot.quantity), lot.supplier_name);
            t += &format!(" Engagement confirmé le {when} via {}", c.channel);
            if let Some(who) = who {
                t += &format!(" par {who}");
            }
            if part {
                t += &format!(" (acceptation partielle : {} sur {} proposés)", q(lot.quantity), q(c.offered));
            }
            t + "."
        }
        Lang::En => {
            let mut t =
                format!("{} ({}): {} by {}.", line.id, line_description(line), q(lot.quantity), lot.supplier_name);
            t += &format!(" Commitment confirmed on {when} via {}", c.channel);
            if let Some(who) = who {
                t += &format!(" by {who}");
            }
            if part {
                t += &format!(" (partial acceptance: {} of {} offered)", q(lot.quantity), q(c.offered));
            }
            t + "."
        }
    }
}

/// A local time in metropolitan France (Europe/Paris: UTC+1, UTC+2 from the last Sunday of March to the
/// last Sunday of October), for the dates of a line's window. Overseas sites would need their own zone.
fn paris_time(date: NaiveDate, hour: u32, minute: u32, second: u32) -> String {
    let last_sunday = |month: u32| {
        let first_of_next = NaiveDate::from_ymd_opt(date.year(), month + 1, 1).unwrap_or(date);
        let last = first_of_next - Duration::days(1);
        last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
    };
    let (start, end) = (last_sunday(3), last_sunday(10));
    // The change happens at 01:00 UTC: 02:00 local in March, 03:00 local in October.
    let summer = (date > start && date < end) || (date == start && hour >= 2) || (date == end && hour < 3);
    let offset = if summer { 2 } else { 1 };
    let local = date.and_hms_opt(hour, minute, second).unwrap_or_default();
    match chrono::FixedOffset::east_opt(offset * 3600).and_then(|o| o.from_local_datetime(&local).single()) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => format!("{}Z", local.format("%Y-%m-%dT%H:%M:%S")),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}

/// Drops nulls, blank strings, empty arrays and empty objects, recursively: OCDS readers (and the schema's
/// `minItems`/`minLength` rules) prefer an absent field to an empty one.
fn prune(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(prune).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: Map<String, Value> = map.into_iter().filter_map(|(k, v)| prune(v).map(|v| (k, v))).collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn window_dates_are_paris_local_times() {
        assert_eq!(paris_time(date(2027, 1, 10), 0, 0, 0), "2027-01-10T00:00:00+01:00");
        assert_eq!(paris_time(date(2027, 7, 1), 23, 59, 59), "2027-07-01T23:59:59+02:00");
        // 2027: summer time from Sunday 28 March to Sunday 31 October.
        assert_eq!(paris_time(date(2027, 3, 28), 0, 0, 0), "2027-03-28T00:00:00+01:00");
        assert_eq!(paris_time(date(2027, 3, 28), 23, 59, 59), "2027-03-28T23:59:59+02:00");
        assert_eq!(paris_time(date(2027, 10, 31), 0, 0, 0), "2027-10-31T00:00:00+02:00");
        assert_eq!(paris_time(date(2027, 10, 31), 23, 59, 59), "2027-10-31T23:59:59+01:00");
    }

    #[test]
    fn prune_drops_what_is_empty_and_keeps_false_and_zero() {
        let v = json!({"a": null, "b": "", "c": [], "d": {"e": null}, "f": false, "g": 0, "h": [null, "x"]});
        assert_eq!(prune(v), Some(json!({"f": false, "g": 0, "h": ["x"]})));
    }

    #[test]
    fn default_uri_is_a_urn_without_reserved_characters() {
        assert_eq!(percent_encode("ocds-essaim-T#1/é"), "ocds-essaim-T%231%2F%C3%A9");
    }
}
