//! Reading the directory of inclusive structures (CSV) and tenders (JSON) into domain values, reporting every problem as
//! `file:line: field: what is wrong` so that the person who wrote the file can fix it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate};
use essaim_core::{
    Buyer, Contact, Cpv, DomainError, GeoPoint, Groupement, GroupementCode, ParticipationMode, Reservation,
    SectorTaxonomy, Siret, Supplier, SupplierKind, Tender, TenderLine, TenderRef, Window, parse_capacities,
    unit_is_hours,
};
use serde::Deserialize;

/// The INSEE commune table shipped with essaim, used when a row gives a commune instead of coordinates.
const COMMUNES_CSV: &str = include_str!("../../../config/communes.csv");

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.file, self.line, self.field, self.message)
    }
}

/// What a supplier file contained: the valid rows and every rejected one.
#[derive(Debug, Default)]
pub struct DirectoryFile {
    pub suppliers: Vec<Supplier>,
    pub groupements: Vec<Groupement>,
    pub errors: Vec<RowError>,
    pub rows: usize,
}

/// Commune code → (name, position).
pub fn communes() -> HashMap<String, (String, GeoPoint)> {
    let mut table = HashMap::new();
    let mut reader = csv::Reader::from_reader(COMMUNES_CSV.as_bytes());
    for record in reader.records().flatten() {
        let (Some(code), Some(name), Some(lat), Some(lon)) =
            (record.get(0), record.get(1), record.get(2), record.get(3))
        else {
            continue;
        };
        if let (Ok(lat), Ok(lon)) = (lat.parse(), lon.parse())
            && let Ok(point) = GeoPoint::new(lat, lon)
        {
            table.insert(code.to_owned(), (name.to_owned(), point));
        }
    }
    table
}

/// Header names accepted for each column (French spellings included).
const COLUMNS: &[(&str, &[&str])] = &[
    ("siret", &["siret"]),
    ("name", &["name", "nom", "raison_sociale"]),
    ("kind", &["kind", "type", "structure"]),
    ("latitude", &["latitude", "lat"]),
    ("longitude", &["longitude", "lon", "lng"]),
    ("commune", &["commune", "code_commune", "insee"]),
    ("max_distance_km", &["max_distance_km", "rayon_km", "distance_max_km"]),
    ("min_lot", &["min_lot", "lot_min"]),
    ("capacities", &["capacities", "capacites", "capacités"]),
    ("insertion_rate", &["insertion_rate", "taux_insertion"]),
    ("groupement", &["groupement"]),
    ("groupement_name", &["groupement_name", "nom_groupement", "groupement_nom"]),
    ("groupement_lead", &["groupement_lead", "mandataire", "lead"]),
    ("contact_name", &["contact_name", "contact", "contact_nom"]),
    ("contact_email", &["contact_email", "email", "courriel"]),
    ("contact_phone", &["contact_phone", "phone", "telephone", "téléphone"]),
    ("prices", &["prices", "tarifs", "prix"]),
    ("address", &["address", "adresse"]),
];

const REQUIRED: &[&str] = &["siret", "name", "kind", "max_distance_km", "min_lot", "capacities"];

fn parse_number(field: &str, text: &str) -> Result<f64, DomainError> {
    text.trim().replace(',', ".").parse::<f64>().map_err(|_| DomainError::Invalid {
        field: field.to_owned(),
        message: format!("« {} » is not a number", text.trim()),
    })
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "" | "false" | "no" | "non" | "0" | "n" => Some(false),
        "true" | "yes" | "oui" | "1" | "x" | "y" | "o" => Some(true),
        _ => None,
    }
}

/// A row's groupement: its code, whether the row is its lead, the name the row gives it (may be empty).
type GroupementCell = (GroupementCode, bool, String);

/// A groupement as seen while reading rows: its lead (with the line naming it) and members.
type GroupementRows = (Option<(Siret, u64)>, Vec<Siret>);

/// Parses a supplier directory. `name` is the file name used in error messages.
pub fn read_directory(name: &str, bytes: &[u8], taxonomy: &SectorTaxonomy) -> DirectoryFile {
    let mut out = DirectoryFile::default();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.trim_start_matches('\u{feff}'),
        Err(e) => {
            let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
            out.errors.push(RowError {
                file: name.into(),
                line,
                field: "file".into(),
                message: "the file is not UTF-8 text (save it as « CSV UTF-8 »)".into(),
            });
            return out;
        }
    };
    let header_line = text.lines().next().unwrap_or("");
    let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let err =
        |line: u64, field: &str, message: String| RowError { file: name.into(), line, field: field.into(), message };

    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.errors.push(err(1, "header", e.to_string()));
            return out;
        }
    };
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().to_lowercase();
        if let Some((column, _)) = COLUMNS.iter().find(|(_, aliases)| aliases.contains(&h.as_str())) {
            index.insert(column, i);
        }
    }
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| !index.contains_key(c)).collect();
    if !missing.is_empty() {
        out.errors.push(err(
            1,
            "header",
            format!(
                "missing column(s) {} (found: {})",
                missing.join(", "),
                headers.iter().collect::<Vec<_>>().join(", ")
            ),
        ));
        return out;
    }
    if !(index.contains_key("latitude") && index.contains_key("longitude") || index.contains_key("commune")) {
        out.errors.push(err(1, "header", "give latitude and longitude columns, or a commune column".into()));
        return out;
    }

    let communes = communes();
    let mut seen: HashMap<Siret, u64> = HashMap::new();
    let mut groupements: BTreeMap<GroupementCode, GroupementRows> = BTreeMap::new();
    let mut names: BTreeMap<GroupementCode, (String, u64)> = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                out.errors.push(err(line, "row", e.to_string()));
                continue;
            }
        };
        out.rows += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let get = |column: &str| index.get(column).and_then(|&i| record.get(i)).map(str::trim).unwrap_or("");
        let row = (|| -> Result<(Supplier, Option<GroupementCell>), DomainError> {
            let siret = Siret::parse(get("siret"))?;
            let kind = SupplierKind::parse_field("kind", get("kind"))?;
            let (lat, lon, commune) = (get("latitude"), get("longitude"), get("commune"));
            let location = if !lat.is_empty() || !lon.is_empty() {
                GeoPoint::checked(
                    "latitude",
                    parse_number("latitude", lat)?,
                    "longitude",
                    parse_number("longitude", lon)?,
                )?
            } else if !commune.is_empty() {
                communes.get(commune).map(|(_, p)| *p).ok_or_else(|| DomainError::Invalid {
                    field: "commune".into(),
                    message: format!("unknown commune code « {commune} » (give latitude and longitude instead)"),
                })?
            } else {
                return Err(DomainError::Invalid {
                    field: "latitude".into(),
                    message: "no position: give latitude and longitude, or a commune code".into(),
                });
            };
            let capacities = parse_capacities("capacities", get("capacities"), |s| taxonomy.resolve("capacities", s))?;
            if capacities.is_empty() {
                return Err(DomainError::Empty { field: "capacities".into() });
            }
            let insertion_rate = match get("insertion_rate") {
                "" => None,
                text => Some(parse_number("insertion_rate", text.trim_end_matches('%'))?)
                    .map(|r| if text.ends_with('%') { r / 100.0 } else { r }),
            };
            let mut supplier = Supplier::new(
                siret,
                get("name"),
                kind,
                location,
                parse_number("max_distance_km", get("max_distance_km"))?,
                parse_number("min_lot", get("min_lot"))?,
                capacities,
                insertion_rate,
            )?;
            supplier.commune = Some(commune.to_owned()).filter(|c| !c.is_empty());
            let optional = |c: &str| Some(get(c).to_owned()).filter(|v| !v.is_empty());
            supplier.contact = Contact {
                name: optional("contact_name"),
                email: optional("contact_email"),
                phone: optional("contact_phone"),
            };
            supplier.address = optional("address");
            supplier.prices = parse_prices(get("prices"), taxonomy)?;
            let groupement = match get("groupement") {
                "" => None,
                code => {
                    let lead = parse_flag(get("groupement_lead")).ok_or_else(|| DomainError::Invalid {
                        field: "groupement_lead".into(),
                        message: format!("« {} » should be true or false", get("groupement_lead")),
                    })?;
                    Some((GroupementCode::parse("groupement", code)?, lead, get("groupement_name").trim().to_owned()))
                }
            };
            Ok((supplier, groupement))
        })();
        match row {
            Err(e) => out.errors.push(err(line, e.field(), strip_field(&e))),
            Ok((supplier, groupement)) => {
                if let Some(first) = seen.insert(supplier.siret.clone(), line) {
                    out.errors.push(err(line, "siret", format!("{} already appears on line {first}", supplier.siret)));
                    continue;
                }
                if let Some((code, lead, name)) = groupement {
                    // The groupement's name may be given on any of its rows, the same each time.
                    if !name.is_empty() {
                        match names.get(&code) {
                            Some((known, first)) if *known != name => {
                                out.errors.push(err(
                                    line,
                                    "groupement_name",
                                    format!("{code} is already named « {known} » on line {first}"),
                                ));
                                continue;
                            }
                            Some(_) => {}
                            None => {
                                names.insert(code.clone(), (name, line));
                            }
                        }
                    }
                    let entry = groupements.entry(code.clone()).or_default();
                    if lead {
                        if let Some((_, first)) = &entry.0 {
                            out.errors.push(err(
                                line,
                                "groupement_lead",
                                format!("{code} already has its lead on line {first}"),
                            ));
                            continue;
                        }
                        entry.0 = Some((supplier.siret.clone(), line));
                    }
                    entry.1.push(supplier.siret.clone());
                }
                out.suppliers.push(supplier);
            }
        }
    }
    for (code, (lead, members)) in groupements {
        match lead {
            None => out.errors.push(err(
                1,
                "groupement_lead",
                format!("groupement {code} has no lead: set groupement_lead=true on its mandataire's row"),
            )),
            Some((lead, line)) => match Groupement::new(
                code.clone(),
                names.get(&code).map_or("", |(name, _)| name.as_str()),
                lead,
                members,
            ) {
                Ok(g) => out.groupements.push(g),
                Err(e) => out.errors.push(err(line, e.field(), strip_field(&e))),
            },
        }
    }
    out.errors.sort_by_key(|e| e.line);
    out
}

/// `nettoyage:26,5;espaces_verts:31`: a structure's own price per unit, excluding VAT, by sector (the
/// syntax of capacities; each price above 0 and at most 10 000 €).
fn parse_prices(text: &str, taxonomy: &SectorTaxonomy) -> Result<BTreeMap<essaim_core::Sector, f64>, DomainError> {
    let prices = parse_capacities("prices", text, |s| taxonomy.resolve("prices", s))?;
    for (sector, price) in &prices {
        if *price <= 0.0 || *price > 10_000.0 {
            return Err(DomainError::OutOfRange {
                field: format!("prices.{sector}"),
                value: *price,
                min: 0.01,
                max: 10_000.0,
            });
        }
    }
    Ok(prices)
}

/// The message of a domain error without its leading `field: `.
fn strip_field(e: &DomainError) -> String {
    let text = e.to_string();
    text.strip_prefix(&format!("{}: ", e.field())).map(str::to_owned).unwrap_or(text)
}

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
    site: essaim_solver::Site,
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
    // A type error names the field it is in (`lines[0].quantity`), not only a line and column.
    let mut json = serde_json::Deserializer::from_str(text.trim_start_matches('\u{feff}'));
    let file: TenderFile = serde_path_to_error::deserialize(&mut json).map_err(|e| {
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
    })?;
    if file.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        return Err(format!("{name}: title: a tender's title cannot be blank (leave it out if it has none)"));
    }
    let wrap = |e: DomainError| format!("{name}: {}: {}", e.field(), strip_field(&e));
    let reference = TenderRef::parse("ref", &file.reference).map_err(wrap)?;
    let buyer_siret = match file.buyer.siret.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(Siret::parse_field("buyer.siret", s).map_err(wrap)?),
    };
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
    let mut lines = Vec::new();
    for (i, l) in file.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        let sector = taxonomy.resolve(&format!("{field}.sector"), &l.sector).map_err(wrap)?;
        let site =
            GeoPoint::checked(&format!("{field}.site.lat"), l.site.lat, &format!("{field}.site.lon"), l.site.lon)
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
            TenderLine::new(&field, &l.id, sector, l.quantity, &unit, site, l.max_share, l.unit_price).map_err(wrap)?;
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
        line = line_rules(&file, l, line, &field)
            .map_err(|e| format!("{name}: {}: line {}: {}", e.field(), l.id, strip_field(&e)))?;
        if let Some(window) = &l.window {
            let w: WindowFile = serde_json::from_value(window.clone()).map_err(|e| {
                format!("{name}: {field}.window: {e} (expected {{\"start\": \"YYYY-MM-DD\", \"end\": \"YYYY-MM-DD\"}})")
            })?;
            let start = parse_date(&format!("{field}.window.start"), &w.start).map_err(wrap)?;
            let end = parse_date(&format!("{field}.window.end"), &w.end).map_err(wrap)?;
            line.window = Some(Window::new(start, end, &format!("{field}.window")).map_err(wrap)?);
        }
        lines.push(line);
    }
    let groupement_kind = match file.groupement_kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => Some(
            essaim_core::GroupementKind::parse(k)
                .ok_or_else(|| format!("{name}: groupement_kind: « {k} » is not conjoint or solidaire"))?,
        ),
    };
    if file.mandataire_solidaire && groupement_kind == Some(essaim_core::GroupementKind::Solidaire) {
        return Err(format!(
            "{name}: mandataire_solidaire: a solidaire groupement has no mandataire solidaire apart, every member \
             is jointly liable (Code de la commande publique R2142-24: the option is for a conjoint groupement)"
        ));
    }
    let buyer_kind = match file.buyer.kind.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => Some(
            essaim_core::BuyerKind::parse(k)
                .ok_or_else(|| format!("{name}: buyer.kind: « {k} » is not public or private"))?,
        ),
    };
    if let Some(c) = file.buyer.oeth_contribution
        && (!c.is_finite() || c < 0.0)
    {
        return Err(format!("{name}: buyer.oeth_contribution: {c} must be a finite amount ≥ 0 (€)"));
    }
    if let Some(r) = file.buyer.direct_employment_rate
        && (!r.is_finite() || !(0.0..=1.0).contains(&r))
    {
        return Err(format!("{name}: buyer.direct_employment_rate: {r} must be within 0..=1 (e.g. 0.035 for 3.5 %)"));
    }
    let email = match file.buyer.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) if essaim_chat::campaigns::is_mail_address(e) => Some(e.to_owned()),
        Some(e) => return Err(format!("{name}: buyer.email: « {} » is not an e-mail address", e.escape_debug())),
    };
    let buyer = Buyer {
        email,
        name: file.buyer.name,
        siret: buyer_siret,
        kind: buyer_kind,
        oeth_contribution: file.buyer.oeth_contribution,
        direct_employment_rate: file.buyer.direct_employment_rate,
    };
    let title = file.title.as_deref().unwrap_or_default();
    let mut tender = Tender::new(reference, title, buyer, deadline, groupement, lines).map_err(wrap)?;
    tender.groupement_kind = groupement_kind;
    tender.mandataire_solidaire = file.mandataire_solidaire;
    Ok(tender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn taxonomy() -> SectorTaxonomy {
        Config::load_with_env(None, std::iter::empty()).unwrap().taxonomy().unwrap()
    }

    const HEADER: &str =
        "siret,name,kind,latitude,longitude,commune,max_distance_km,min_lot,capacities,groupement,groupement_lead\n";

    #[test]
    fn the_shipped_sample_directory_is_valid() {
        let file = read_directory("suppliers.csv", include_bytes!("../../../data/suppliers.csv"), &taxonomy());
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        assert!((20..=40).contains(&file.suppliers.len()));
        assert_eq!(file.groupements.len(), 1);
        assert_eq!(file.groupements[0].name, "Groupement inclusif de l'agglomération lyonnaise");
    }

    #[test]
    fn accepts_semicolons_bom_decimal_commas_and_commune_codes() {
        let text = "\u{feff}siret;name;kind;latitude;longitude;commune;max_distance_km;min_lot;capacities\n\
                    73282932000074;Atelier;ei;45,75;4,85;;30;10;nettoyage:100,5|logistique:20\n\
                    35600000049837;Poste;ESAT;;;69266;30;0;nettoyage:10\n";
        let file = read_directory("a.csv", text.as_bytes(), &taxonomy());
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        assert_eq!(file.suppliers[0].location.lat, 45.75);
        assert_eq!(file.suppliers[0].kind, SupplierKind::Ei);
        assert!((file.suppliers[1].location.lat - 45.77).abs() < 0.05, "Villeurbanne resolved");
    }

    #[test]
    fn every_bad_row_is_reported_with_file_line_and_field() {
        let text = format!(
            "{HEADER}73282932000075,Bad key,EI,45.7,4.8,,30,10,nettoyage:10,,\n\
             73282932000074,Bad kind,SCOP,45.7,4.8,,30,10,nettoyage:10,,\n\
             73282932000074,Bad lat,EI,95,4.8,,30,10,nettoyage:10,,\n\
             73282932000074,Bad sector,EI,45.7,4.8,,30,10,plomberie:10,,\n\
             73282932000074,Good,EI,45.7,4.8,,30,10,nettoyage:10,,\n"
        );
        let file = read_directory("dir.csv", text.as_bytes(), &taxonomy());
        let lines: Vec<String> = file.errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[0].starts_with("dir.csv:2: siret:"), "{}", lines[0]);
        assert!(lines[1].starts_with("dir.csv:3: kind:"), "{}", lines[1]);
        assert!(lines[2].starts_with("dir.csv:4: latitude:"), "{}", lines[2]);
        assert!(lines[3].starts_with("dir.csv:5: capacities:") && lines[3].contains("plomberie"), "{}", lines[3]);
        assert_eq!(file.suppliers.len(), 1);
    }

    #[test]
    fn groupements_need_exactly_one_lead() {
        let text = format!(
            "{HEADER}73282932000074,A,EI,45.7,4.8,,30,10,nettoyage:10,G1,\n35600000049837,B,EI,45.7,4.8,,30,10,nettoyage:10,G1,\n"
        );
        let file = read_directory("g.csv", text.as_bytes(), &taxonomy());
        assert!(file.errors[0].to_string().contains("G1 has no lead"), "{:?}", file.errors);
        let text = format!(
            "{HEADER}73282932000074,A,EI,45.7,4.8,,30,10,nettoyage:10,G1,oui\n35600000049837,B,EI,45.7,4.8,,30,10,nettoyage:10,G1,true\n"
        );
        let file = read_directory("g.csv", text.as_bytes(), &taxonomy());
        assert_eq!(file.errors[0].to_string(), "g.csv:3: groupement_lead: G1 already has its lead on line 2");
    }

    #[test]
    fn missing_columns_are_named() {
        let file = read_directory("x.csv", b"siret,name\n", &taxonomy());
        assert!(file.errors[0].to_string().contains("missing column(s) kind, max_distance_km"), "{:?}", file.errors);
    }

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
    fn prices_and_addresses_are_read_and_a_bad_price_names_file_line_and_field() {
        let header = "siret;name;kind;latitude;longitude;commune;max_distance_km;min_lot;capacities;prices;adresse\n";
        let text = format!(
            "{header}73282932000074;Atelier;EI;45,75;4,85;;30;10;nettoyage:100;nettoyage:26,5|espaces_verts:31;\"3 rue A; 69003 Lyon\"\n\
             35600000049837;Poste;ESAT;45,7;4,8;;30;0;nettoyage:10;;\n\
             12345678900015;Cher;EI;45,7;4,8;;30;0;nettoyage:10;nettoyage:0;\n\
             30000000000004;Inconnu;EI;45,7;4,8;;30;0;nettoyage:10;plomberie:20;\n"
        );
        let file = read_directory("dir.csv", text.as_bytes(), &taxonomy());
        let errors: Vec<String> = file.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("dir.csv:4: prices.nettoyage:"), "{}", errors[0]);
        assert!(errors[1].starts_with("dir.csv:5: prices:") && errors[1].contains("plomberie"), "{}", errors[1]);
        let a = &file.suppliers[0];
        let sector = |s: &str| essaim_core::Sector::parse("s", s).unwrap();
        assert_eq!(a.prices.get(&sector("nettoyage")), Some(&26.5));
        assert_eq!(a.prices.get(&sector("espaces_verts")), Some(&31.0), "a price without capacity is kept");
        assert_eq!(a.address.as_deref(), Some("3 rue A; 69003 Lyon"));
        assert!(file.suppliers[1].prices.is_empty() && file.suppliers[1].address.is_none(), "both optional");
    }

    #[test]
    fn a_groupement_takes_its_name_from_any_of_its_rows_and_one_name_only() {
        let header =
            "siret,name,kind,commune,max_distance_km,min_lot,capacities,groupement,groupement_lead,groupement_name\n";
        let text = format!(
            "{header}73282932000074,A,EI,69123,30,10,nettoyage:10,G1,true,\n\
             35600000049837,B,EI,69123,30,10,nettoyage:10,G1,,Groupement des Pentes\n\
             12345678900015,C,EI,69123,30,10,nettoyage:10,G1,,Groupement des Pentes\n"
        );
        let file = read_directory("g.csv", text.as_bytes(), &taxonomy());
        assert!(file.errors.is_empty(), "{:?}", file.errors);
        assert_eq!(file.groupements[0].name, "Groupement des Pentes");
        let text = format!("{text}30000000000004,D,EI,69123,30,10,nettoyage:10,G1,,Autre nom\n");
        let file = read_directory("g.csv", text.as_bytes(), &taxonomy());
        assert_eq!(
            file.errors[0].to_string(),
            "g.csv:5: groupement_name: G1 is already named « Groupement des Pentes » on line 3"
        );
        // Without a name, the groupement is called by its code.
        let file = read_directory(
            "g.csv",
            format!("{header}73282932000074,A,EI,69123,30,10,nettoyage:10,G2,true,\n").as_bytes(),
            &taxonomy(),
        );
        assert_eq!(file.groupements[0].name, "G2");
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
