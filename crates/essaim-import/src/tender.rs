//! A tender: a JSON file, or the body of `POST /tenders` (docs/formats.md).

use chrono::{DateTime, FixedOffset, NaiveDate};
use essaim_core::{
    Buyer, Cpv, DomainError, GeoPoint, GroupementCode, ParticipationMode, Reservation, SectorTaxonomy, Siret, Tender,
    TenderLine, TenderRef, Window, unit_is_hours,
};
use serde::Deserialize;

use crate::strip_field;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenderFile {
    #[serde(rename = "ref")]
    reference: String,
    /// Absent: the tender has no title (older files); given, it must say something.
    #[serde(default)]
    title: Option<String>,
    buyer: BuyerFile,
    #[serde(default)]
    deadline: Option<String>,
    #[serde(default)]
    groupement: Option<String>,
    #[serde(default)]
    groupement_kind: Option<String>,
    /// The contract makes the mandataire of a conjoint groupement jointly liable (R2142-24).
    #[serde(default)]
    mandataire_solidaire: bool,
    /// Defaults for every line that does not set its own.
    #[serde(default)]
    participation: Option<Vec<String>>,
    #[serde(default)]
    reserved: Option<String>,
    #[serde(default)]
    insertion_hours_percent: Option<f64>,
    lines: Vec<LineFile>,
}

/// A tender line as written in the file: the allocation input's line, plus what only a tender carries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineFile {
    id: String,
    sector: String,
    quantity: f64,
    #[serde(default)]
    unit: Option<String>,
    site: Site,
    #[serde(default)]
    max_share: Option<f64>,
    #[serde(default)]
    participation: Option<Vec<String>>,
    #[serde(default)]
    reserved: Option<String>,
    #[serde(default)]
    insertion_hours_min: Option<f64>,
    /// The clause as a percentage of the line's hours, converted to `insertion_hours_min` at import.
    #[serde(default)]
    insertion_hours_percent: Option<f64>,
    #[serde(default)]
    cpv: Option<String>,
    /// VAT rate, 0–1 (e.g. 0.2); the configured default when absent.
    #[serde(default)]
    vat_rate: Option<f64>,
    /// The site's address as the buyer writes it.
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    unit_price: Option<f64>,
    #[serde(default)]
    window: Option<serde_json::Value>,
}

/// A position as written in the file (the allocation input's `site`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Site {
    lat: f64,
    lon: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuyerFile {
    name: String,
    #[serde(default)]
    siret: Option<String>,
    /// `public` or `private`: which fund collects its disability-employment contribution.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    oeth_contribution: Option<f64>,
    #[serde(default)]
    direct_employment_rate: Option<f64>,
    /// The purchasing officer's e-mail: the proposal is mailed there.
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowFile {
    start: String,
    end: String,
}

fn parse_date(field: &str, text: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .or_else(|_| DateTime::parse_from_rfc3339(text.trim()).map(|d| d.date_naive()))
        .map_err(|_| DomainError::Invalid {
            field: field.into(),
            message: format!("« {text} » is not a date (YYYY-MM-DD)"),
        })
}

/// Whether a line's unit is its sector's: the same word, or both a way of writing hours (`h`, `heures`).
fn same_unit(unit: &str, sector_unit: &str) -> bool {
    let (a, b) = (unit.trim().to_lowercase(), sector_unit.trim().to_lowercase());
    a == b || (unit_is_hours(&a) && unit_is_hours(&b))
}

/// A line's procurement rules (participation, reservation, clause, CPV), each from the line or else from
/// the tender's defaults. A clause given as a percentage of the line's quantity becomes hours here.
fn line_rules(file: &TenderFile, l: &LineFile, line: TenderLine, field: &str) -> Result<TenderLine, DomainError> {
    let participation_field = format!("{field}.participation");
    let line = match l.participation.as_ref().or(file.participation.as_ref()) {
        None => line,
        Some(list) => {
            let modes = list
                .iter()
                .map(|m| ParticipationMode::parse_field(&participation_field, m))
                .collect::<Result<Vec<_>, _>>()?;
            line.with_participation(&participation_field, &modes)?
        }
    };
    let mut line = line;
    line.reserved = match l.reserved.as_deref().or(file.reserved.as_deref()).map(str::trim) {
        None | Some("") => None,
        Some(r) => Some(Reservation::parse_field(&format!("{field}.reserved"), r)?),
    };
    let hours = match (l.insertion_hours_min, l.insertion_hours_percent.or(file.insertion_hours_percent)) {
        (Some(_), Some(_)) if l.insertion_hours_percent.is_some() => {
            return Err(DomainError::Invalid {
                field: format!("{field}.insertion_hours_percent"),
                message: "give the clause in hours (insertion_hours_min) or as a percentage, not both".into(),
            });
        }
        (Some(h), _) => Some(h),
        (None, Some(percent)) => {
            let percent_field = format!("{field}.insertion_hours_percent");
            if !percent.is_finite() || !(0.0..=100.0).contains(&percent) {
                return Err(DomainError::OutOfRange { field: percent_field, value: percent, min: 0.0, max: 100.0 });
            }
            if !line.is_in_hours() {
                return Err(DomainError::Invalid {
                    field: percent_field,
                    message: format!("a percentage of hours needs a line in hours, not « {} »", line.unit),
                });
            }
            Some(essaim_core::round_quantity(line.quantity * percent / 100.0))
        }
        (None, None) => None,
    };
    let mut line = line.with_insertion_hours(&format!("{field}.insertion_hours_min"), hours)?;
    line.cpv = match l.cpv.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) => Some(Cpv::parse(&format!("{field}.cpv"), c)?),
    };
    Ok(line)
}

/// Parses a tender file; errors read `file: field: message` (JSON syntax errors give line and column).
pub fn read_tender(name: &str, text: &str, taxonomy: &SectorTaxonomy) -> Result<Tender, String> {
    let file = parse(name, text)?;
    if file.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(format!("{name}: title: a tender's title cannot be blank (leave it out if it has none)"));
    }
    let wrap = |e: DomainError| format!("{name}: {}: {}", e.field(), strip_field(&e));
    let reference = TenderRef::parse("ref", &file.reference).map_err(wrap)?;
    let deadline: Option<DateTime<FixedOffset>> = match file.deadline.as_deref() {
        None | Some("") => None,
        Some(d) => Some(DateTime::parse_from_rfc3339(d).map_err(|_| {
            format!("{name}: deadline: « {d} » is not a date-time with offset (e.g. 2026-12-15T18:00:00+01:00)")
        })?),
    };
    let groupement = match file.groupement.as_deref() {
        None | Some("") => None,
        Some(g) => Some(GroupementCode::parse("groupement", g).map_err(wrap)?),
    };
    let lines = (file.lines.iter().enumerate())
        .map(|(i, l)| read_line(name, &file, &format!("lines[{i}]"), l, taxonomy))
        .collect::<Result<Vec<_>, _>>()?;
    let groupement_kind = groupement_kind(name, &file)?;
    let buyer = read_buyer(name, &file.buyer)?;
    let title = file.title.as_deref().unwrap_or_default();
    let mut tender = Tender::new(reference, title, buyer, deadline, groupement, lines).map_err(wrap)?;
    tender.groupement_kind = groupement_kind;
    tender.mandataire_solidaire = file.mandataire_solidaire;
    Ok(tender)
}

/// The file's JSON; a type error names the field it is in (`lines[0].quantity`), not only a line and column.
fn parse(name: &str, text: &str) -> Result<TenderFile, String> {
    let mut json = serde_json::Deserializer::from_str(text.trim_start_matches('\u{feff}'));
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if inner.is_syntax() || inner.is_eof() {
            "json".to_owned()
        } else if path == "." {
            "tender".to_owned()
        } else {
            path
        };
        format!("{name}:{}: {field}: {inner}", inner.line())
    })
}

/// One line (`field` is `lines[i]`), with the tender's defaults for what it does not set.
fn read_line(
    name: &str,
    file: &TenderFile,
    field: &str,
    l: &LineFile,
    taxonomy: &SectorTaxonomy,
) -> Result<TenderLine, String> {
    let wrap = |e: DomainError| format!("{name}: {}: {}", e.field(), strip_field(&e));
    let sector = taxonomy.resolve(&format!("{field}.sector"), &l.sector).map_err(wrap)?;
    let site = GeoPoint::checked(&format!("{field}.site.lat"), l.site.lat, &format!("{field}.site.lon"), l.site.lon)
        .map_err(wrap)?;
    let sector_unit = taxonomy.get(&sector).map(|s| s.unit.clone()).unwrap_or_default();
    let unit = l.unit.clone().unwrap_or_else(|| sector_unit.clone());
    if !same_unit(&unit, &sector_unit) {
        return Err(format!(
            "{name}: {field}.unit: line {}: « {} » is not the unit of sector {sector} ({sector_unit}): \
             capacities are counted in {sector_unit}, give the line's quantity in {sector_unit}",
            l.id,
            unit.trim()
        ));
    }
    if l.quantity.is_finite() && l.quantity == 0.0 {
        // Nothing to allocate, and a line of 0 would show as « 100 % couvert » with no lot.
        return Err(format!("{name}: {field}.quantity: line {}: a line needs a quantity above 0", l.id));
    }
    let mut line =
        TenderLine::new(field, &l.id, sector, l.quantity, &unit, site, l.max_share, l.unit_price).map_err(wrap)?;
    line.title = l.title.clone().filter(|t| !t.trim().is_empty());
    line.address = l.address.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned);
    if let Some(rate) = l.vat_rate {
        if !rate.is_finite() || !(0.0..=1.0).contains(&rate) {
            return Err(format!(
                "{name}: {field}.vat_rate: line {}: {rate} must be within 0..=1 (e.g. 0.2 for 20 %)",
                l.id
            ));
        }
        line.vat_rate = Some(rate);
    }
    line = line_rules(file, l, line, field)
        .map_err(|e| format!("{name}: {}: line {}: {}", e.field(), l.id, strip_field(&e)))?;
    if let Some(window) = &l.window {
        let w: WindowFile = serde_json::from_value(window.clone()).map_err(|e| {
            format!("{name}: {field}.window: {e} (expected {{\"start\": \"YYYY-MM-DD\", \"end\": \"YYYY-MM-DD\"}})")
        })?;
        let start = parse_date(&format!("{field}.window.start"), &w.start).map_err(wrap)?;
        let end = parse_date(&format!("{field}.window.end"), &w.end).map_err(wrap)?;
        line.window = Some(Window::new(start, end, &format!("{field}.window")).map_err(wrap)?);
    }
    Ok(line)
}

/// The kind of groupement the tender asks for, and whether its mandataire must be jointly liable.
fn groupement_kind(name: &str, file: &TenderFile) -> Result<Option<essaim_core::GroupementKind>, String> {
    let kind = match file.groupement_kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => Some(
            essaim_core::GroupementKind::parse(k)
                .ok_or_else(|| format!("{name}: groupement_kind: « {k} » is not conjoint or solidaire"))?,
        ),
    };
    if file.mandataire_solidaire && kind == Some(essaim_core::GroupementKind::Solidaire) {
        return Err(format!(
            "{name}: mandataire_solidaire: a solidaire groupement has no mandataire solidaire apart, every member \
             is jointly liable (Code de la commande publique R2142-24: the option is for a conjoint groupement)"
        ));
    }
    Ok(kind)
}

/// The buyer: who it is, which fund collects its disability-employment contribution, where its mail goes.
fn read_buyer(name: &str, buyer: &BuyerFile) -> Result<Buyer, String> {
    let siret = match buyer.siret.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(
            Siret::parse_field("buyer.siret", s).map_err(|e| format!("{name}: {}: {}", e.field(), strip_field(&e)))?,
        ),
    };
    let kind = match buyer.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => Some(
            essaim_core::BuyerKind::parse(k)
                .ok_or_else(|| format!("{name}: buyer.kind: « {k} » is not public or private"))?,
        ),
    };
    if let Some(c) = buyer.oeth_contribution
        && (!c.is_finite() || c < 0.0)
    {
        return Err(format!("{name}: buyer.oeth_contribution: {c} must be a finite amount ≥ 0 (€)"));
    }
    if let Some(r) = buyer.direct_employment_rate
        && (!r.is_finite() || !(0.0..=1.0).contains(&r))
    {
        return Err(format!("{name}: buyer.direct_employment_rate: {r} must be within 0..=1 (e.g. 0.035 for 3.5 %)"));
    }
    let email = match buyer.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) if essaim_core::is_mail_address(e) => Some(e.to_owned()),
        Some(e) => return Err(format!("{name}: buyer.email: « {} » is not an e-mail address", e.escape_debug())),
    };
    Ok(Buyer {
        email,
        name: buyer.name.clone(),
        siret,
        kind,
        oeth_contribution: buyer.oeth_contribution,
        direct_employment_rate: buyer.direct_employment_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::taxonomy;

    #[test]
    fn the_shipped_tender_is_valid_and_bad_tenders_name_the_field() {
        let t = read_tender("tender.json", include_str!("../../../data/tender.json"), &taxonomy()).unwrap();
        assert!((4..=8).contains(&t.lines.len()));
        let bad = r#"{"ref": "T-1", "buyer": {"name": "B"}, "lines": [{"id": "L1", "sector": "nettoyage", "quantity": -1, "site": {"lat": 45, "lon": 4}}]}"#;
        let err = read_tender("t.json", bad, &taxonomy()).unwrap_err();
        assert!(err.starts_with("t.json: lines[0].quantity:"), "{err}");
        for (bad, field) in [
            (r#"{"ref": 12345, "buyer": {"name": "B"}, "lines": []}"#, "t.json:1: ref: invalid type"),
            (
                r#"{"ref": "T-1", "buyer": {"name": "B"}, "lines": [{"id": "L1", "sector": "nettoyage", "quantity": "beaucoup", "site": {"lat": 45, "lon": 4}}]}"#,
                "t.json:1: lines[0].quantity: invalid type",
            ),
            (
                r#"{"ref": "T-1", "buyer": {"name": "B"}, "lines": [{"id": "L1", "sector": "nettoyage", "quantity": 0, "site": {"lat": 45, "lon": 4}}]}"#,
                "t.json: lines[0].quantity: line L1: a line needs a quantity above 0",
            ),
            (
                r#"{"ref": "T-1", "title": "  ", "buyer": {"name": "B"}, "lines": [{"id": "L1", "sector": "nettoyage", "quantity": 1, "site": {"lat": 45, "lon": 4}}]}"#,
                "t.json: title: a tender's title cannot be blank",
            ),
        ] {
            let err = read_tender("t.json", bad, &taxonomy()).expect_err(bad);
            assert!(err.starts_with(field), "{err}");
        }
        let err = read_tender("t.json", "{\"ref\": ", &taxonomy()).unwrap_err();
        assert!(err.starts_with("t.json:1: json:"), "{err}");
        let line = r#""lines": [{"id": "L1", "sector": "nettoyage", "quantity": 1, "site": {"lat": 45, "lon": 4}}]"#;
        let solidaire =
            format!(r#"{{"ref": "T-1", "buyer": {{"name": "B"}}, "groupement_kind": "solidaire", {line}}}"#);
        let t = read_tender("t.json", &solidaire, &taxonomy()).unwrap();
        assert_eq!(t.groupement_kind, Some(essaim_core::GroupementKind::Solidaire));
        let odd = format!(r#"{{"ref": "T-1", "buyer": {{"name": "B"}}, "groupement_kind": "mixte", {line}}}"#);
        let err = read_tender("t.json", &odd, &taxonomy()).unwrap_err();
        assert!(err.starts_with("t.json: groupement_kind:"), "{err}");
        let mailed = format!(r#"{{"ref": "T-1", "buyer": {{"name": "B", "email": " achats@b.fr "}}, {line}}}"#);
        assert_eq!(read_tender("t.json", &mailed, &taxonomy()).unwrap().buyer.email.as_deref(), Some("achats@b.fr"));
        let injected =
            format!(r#"{{"ref": "T-1", "buyer": {{"name": "B", "email": "a@b.fr\r\nBcc: x@y.z"}}, {line}}}"#);
        let err = read_tender("t.json", &injected, &taxonomy()).unwrap_err();
        assert!(err.starts_with("t.json: buyer.email:"), "{err}");
    }

    #[test]
    fn buyer_and_bid_fields_are_read_and_checked() {
        let line = r#""lines": [{"id": "L1", "sector": "nettoyage", "quantity": 1, "site": {"lat": 45, "lon": 4},
            "vat_rate": 0.1, "address": " 1 place Bellecour, 69002 Lyon "}]"#;
        let tender = |buyer: &str, top: &str| {
            let text = format!(r#"{{"ref": "T-1", "buyer": {{"name": "B" {buyer}}}, {top} {line}}}"#);
            read_tender("t.json", &text, &taxonomy())
        };
        let t = tender(
            r#", "kind": "public", "oeth_contribution": 185000, "direct_employment_rate": 0.041"#,
            r#""groupement_kind": "conjoint", "mandataire_solidaire": true,"#,
        )
        .unwrap();
        assert_eq!(t.buyer.kind, Some(essaim_core::BuyerKind::Public));
        assert_eq!((t.buyer.oeth_contribution, t.buyer.direct_employment_rate), (Some(185000.0), Some(0.041)));
        assert!(t.mandataire_solidaire);
        assert_eq!(t.lines[0].vat_rate, Some(0.1));
        assert_eq!(t.lines[0].address.as_deref(), Some("1 place Bellecour, 69002 Lyon"), "trimmed");
        let t = tender(r#", "kind": "privé""#, "").unwrap();
        assert_eq!(t.buyer.kind, Some(essaim_core::BuyerKind::Private), "French and accents accepted");

        let cases = [
            (r#", "kind": "associatif""#, "", "t.json: buyer.kind:"),
            (r#", "oeth_contribution": -5"#, "", "t.json: buyer.oeth_contribution:"),
            (r#", "direct_employment_rate": 4.1"#, "", "t.json: buyer.direct_employment_rate:"),
            ("", r#""groupement_kind": "solidaire", "mandataire_solidaire": true,"#, "t.json: mandataire_solidaire:"),
        ];
        for (buyer, top, starts) in cases {
            let err = tender(buyer, top).unwrap_err();
            assert!(err.starts_with(starts), "{buyer} {top}: {err}");
        }
        let percent = r#"{"ref": "T-1", "buyer": {"name": "B"}, "lines": [{"id": "L1", "sector": "nettoyage",
            "quantity": 1, "site": {"lat": 45, "lon": 4}, "vat_rate": 20}]}"#;
        let err = read_tender("t.json", percent, &taxonomy()).unwrap_err();
        assert!(
            err.starts_with("t.json: lines[0].vat_rate:") && err.contains("0..=1"),
            "20 for 20 % is refused: {err}"
        );
    }

    /// A tender with one line `L1` (100 h of cleaning) carrying `extra` fields, and `top` fields on the tender.
    fn with_rules(top: &str, extra: &str) -> Result<Tender, String> {
        let text = format!(
            r#"{{"ref": "T-1", "buyer": {{"name": "B"}}, {top} "lines": [{{"id": "L1", "sector": "nettoyage",
               "quantity": 100, "site": {{"lat": 45, "lon": 4}} {extra}}},
              {{"id": "L2", "sector": "nettoyage", "quantity": 50, "site": {{"lat": 45, "lon": 4}}}}]}}"#
        );
        read_tender("t.json", &text, &taxonomy())
    }

    #[test]
    fn the_shipped_tender_uses_every_procurement_rule() {
        let t = read_tender("tender.json", include_str!("../../../data/tender.json"), &taxonomy()).unwrap();
        assert!(t.lines.iter().any(|l| l.reserved == Some(Reservation::Handicap)), "a reserved line");
        assert!(t.lines.iter().any(|l| l.participation.contains(&ParticipationMode::MiseADisposition)));
        assert!(t.lines.iter().filter(|l| l.insertion_hours_min.is_some()).count() >= 2, "two clause targets");
        let l1 = t.line("L1").unwrap();
        assert_eq!(l1.insertion_hours_min, Some(360.0), "30 % of 1 200 h, converted at import");
    }

    #[test]
    fn line_rules_are_read_with_the_tender_defaults() {
        let t = with_rules(
            r#""participation": ["execution", "mise_a_disposition"], "reserved": "insertion", "insertion_hours_percent": 20,"#,
            r#", "participation": ["execution"], "insertion_hours_min": 15, "cpv": "90911200""#,
        )
        .unwrap();
        let (l1, l2) = (&t.lines[0], &t.lines[1]);
        assert_eq!(l1.participation, [ParticipationMode::Execution], "the line's own modes win");
        assert_eq!(l2.participation, [ParticipationMode::Execution, ParticipationMode::MiseADisposition]);
        assert_eq!((l1.reserved, l2.reserved), (Some(Reservation::Insertion), Some(Reservation::Insertion)));
        assert_eq!((l1.insertion_hours_min, l2.insertion_hours_min), (Some(15.0), Some(10.0)));
        assert_eq!(l1.cpv.as_ref().map(|c| c.as_str()), Some("90911200-8"), "the check digit is added");
        assert_eq!(l2.cpv, None);
    }

    #[test]
    fn bad_line_rules_name_file_line_and_field() {
        let cases = [
            (r#", "reserved": "esat""#, "t.json: lines[0].reserved: line L1:", "L2113-12"),
            (r#", "participation": ["sous-traitance"]"#, "t.json: lines[0].participation: line L1:", "sous-traitance"),
            (r#", "participation": []"#, "t.json: lines[0].participation: line L1:", "at least one mode"),
            (r#", "insertion_hours_min": 120"#, "t.json: lines[0].insertion_hours_min: line L1:", "more than"),
            (r#", "insertion_hours_percent": 140"#, "t.json: lines[0].insertion_hours_percent: line L1:", "140"),
            (r#", "cpv": "90911200-3""#, "t.json: lines[0].cpv: line L1:", "expected 90911200-8"),
            (r#", "cpv": "9091""#, "t.json: lines[0].cpv: line L1:", "not a CPV code"),
            (r#", "unit": "pièces""#, "t.json: lines[0].unit: line L1:", "not the unit of sector nettoyage (h)"),
        ];
        for (extra, starts, contains) in cases {
            let err = with_rules("", extra).unwrap_err();
            assert!(err.starts_with(starts) && err.contains(contains), "{extra}: {err}");
        }
        // Hours written another way are still hours.
        assert_eq!(with_rules("", r#", "unit": "heures""#).unwrap().lines[0].unit, "heures");
        let err = with_rules(r#""reserved": "handicaps","#, "").unwrap_err();
        assert!(err.starts_with("t.json: lines[0].reserved: line L1:"), "a tender default is checked per line: {err}");
    }
}
