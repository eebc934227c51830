//! What the importers of real exports (Le Marché de l'inclusion, data·inclusion, FINESS) share: reading a CSV or
//! JSON table with located rows, the sector label table (config/sector-labels.csv), the kinds, placing a row
//! by its coordinates or its commune, and the report a dry run prints (docs/import.md).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use essaim_core::territory::{self, Commune};
use essaim_core::{Contact, DomainError, GeoPoint, Sector, SectorTaxonomy, Siret, Supplier, SupplierKind};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{RowError, strip_field};

/// How far an imported structure is assumed to send its teams until it says (the exports do not tell), in km.
pub const DEFAULT_MAX_DISTANCE_KM: f64 = 30.0;

/// The shipped sector label table.
pub const SHIPPED_SECTOR_LABELS: &str = include_str!("../../../config/sector-labels.csv");

/// Activity labels of the sources → essaim sectors (config/sector-labels.csv), compared without accents,
/// case or punctuation.
#[derive(Debug, Clone, Default)]
pub struct SectorLabels {
    map: HashMap<String, Sector>,
}

impl SectorLabels {
    /// Reads a `label;sector` table (header line, `#` comments); every bad line is reported.
    pub fn parse(file: &str, text: &str, taxonomy: &SectorTaxonomy) -> Result<Self, Vec<RowError>> {
        let mut csv =
            csv::ReaderBuilder::new().delimiter(b';').comment(Some(b'#')).flexible(true).from_reader(text.as_bytes());
        let mut map = HashMap::new();
        let mut errors = Vec::new();
        let error = |line: u64, field: &str, message: String| RowError {
            file: file.to_owned(),
            line,
            field: field.to_owned(),
            message,
        };
        for record in csv.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    errors.push(error(e.position().map_or(0, |p| p.line()), "row", e.to_string()));
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| p.line());
            let (label, sector) = (record.get(0).unwrap_or("").trim(), record.get(1).unwrap_or("").trim());
            if label.is_empty() {
                errors.push(error(line, "label", "empty label".into()));
                continue;
            }
            match taxonomy.resolve("sector", sector) {
                Ok(s) => {
                    if let Some(before) = map.insert(territory::fold(label), s.clone())
                        && before != s
                    {
                        errors.push(error(line, "label", format!("« {label} » is already mapped to {before}")));
                    }
                }
                Err(e) => errors.push(error(line, "sector", strip_field(&e))),
            }
        }
        if errors.is_empty() { Ok(Self { map }) } else { Err(errors) }
    }

    /// The shipped table, checked against a taxonomy.
    pub fn shipped(taxonomy: &SectorTaxonomy) -> Result<Self, Vec<RowError>> {
        Self::parse("config/sector-labels.csv", SHIPPED_SECTOR_LABELS, taxonomy)
    }

    /// The sector of a source's label; `None` when the table does not map it.
    pub fn map(&self, label: &str) -> Option<Sector> {
        self.map.get(&territory::fold(label)).cloned()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The essaim kind of a source's kind: a code (`EI`, `esat`), a code in brackets after its name (« Entreprise
/// d'insertion (EI) », as Le Marché's exports display it), or the name alone. `None`: no essaim kind (the
/// Marché's SEP, data·inclusion's CCAS…), and the row is refused.
pub fn map_kind(value: &str) -> Option<SupplierKind> {
    let value = value.trim();
    let code = match value.rsplit_once('(') {
        Some((_, rest)) if value.ends_with(')') => rest.trim_end_matches(')').trim(),
        _ => value,
    };
    // ACIPHC, « ACI premières heures en chantier », is an ACI in law (art. L5132-15 code du travail).
    if code.eq_ignore_ascii_case("ACIPHC") {
        return Some(SupplierKind::Aci);
    }
    if let Ok(kind) = SupplierKind::parse_field("kind", code) {
        return Some(kind);
    }
    let names: [(&str, SupplierKind); 10] = [
        ("entreprise d insertion", SupplierKind::Ei),
        ("association intermediaire", SupplierKind::Ai),
        ("atelier chantier d insertion", SupplierKind::Aci),
        ("atelier et chantier d insertion", SupplierKind::Aci),
        ("entreprise de travail temporaire d insertion", SupplierKind::Etti),
        ("entreprise d insertion par le travail independant", SupplierKind::Eiti),
        ("groupement d employeurs pour l insertion et la qualification", SupplierKind::Geiq),
        ("entreprise adaptee", SupplierKind::Ea),
        ("entreprise adaptee de travail temporaire", SupplierKind::Eatt),
        ("etablissement et service d aide par le travail", SupplierKind::Esat),
    ];
    let folded = territory::fold(value);
    names.iter().find(|(name, _)| *name == folded).map(|(_, kind)| *kind)
}

/// A cell as read: text, or a list (a JSON array).
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Text(String),
    List(Vec<String>),
}

/// One row of a source, located, with its cells by canonical column name.
#[derive(Debug, Default)]
pub(crate) struct Record {
    pub line: u64,
    pub cells: HashMap<&'static str, Cell>,
}

impl Record {
    /// The trimmed text of a column; empty when absent.
    pub fn get(&self, column: &str) -> String {
        match self.cells.get(column) {
            Some(Cell::Text(t)) => t.trim().to_owned(),
            Some(Cell::List(l)) => l.join("|"),
            None => String::new(),
        }
    }

    /// A list column: a JSON array, or a cell split on `|`, `;` and line breaks (never on commas: Le Marché's
    /// labels contain some, « Travaux forestiers, Bûcheronnage »).
    pub fn list(&self, column: &str) -> Vec<String> {
        let items: Vec<String> = match self.cells.get(column) {
            Some(Cell::List(l)) => l.clone(),
            Some(Cell::Text(t)) => t.split(['|', ';', '\n']).map(str::to_owned).collect(),
            None => Vec::new(),
        };
        items.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect()
    }
}

/// Bytes as text: UTF-8 (a byte-order mark dropped), else Latin-1, which older FINESS extractions and
/// spreadsheets saving « CSV » still write (every byte is a Latin-1 character, so this never fails).
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(t) => Cow::Borrowed(t.trim_start_matches('\u{feff}')),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
    }
}

/// The canonical column a header names, by the source's aliases (compared folded: « Code postal » = code_postal).
fn canonical(columns: &[(&'static str, &[&str])], header: &str) -> Option<&'static str> {
    let h = territory::fold(header).replace(' ', "_");
    columns.iter().find(|(_, aliases)| aliases.iter().any(|a| territory::fold(a).replace(' ', "_") == h)).map(|c| c.0)
}

/// A source exported as one table of structures (Le Marché de l'inclusion, data·inclusion): what it is
/// called in the report, its columns and their aliases, those it cannot do without, the names of its
/// fields for the messages, and how one record becomes a row.
pub(crate) struct Table {
    pub source: &'static str,
    pub columns: &'static [(&'static str, &'static [&'static str])],
    pub required: &'static [&'static str],
    pub fields: Fields,
    pub row: fn(&Record) -> Result<Row, DomainError>,
}

impl Table {
    /// Reads `bytes` (the file `file`) into a report: every record a row or a rejection naming its line
    /// and field, then the rows checked together (duplicates, kinds, positions, sectors).
    pub(crate) fn read(&self, file: &str, bytes: &[u8], labels: &SectorLabels) -> ImportReport {
        let mut report = ImportReport::new(file, self.source);
        let records = match read_table(file, bytes, self.columns, self.required) {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        };
        let mut rows = Vec::with_capacity(records.len());
        for record in records {
            match (self.row)(&record) {
                Ok(row) => rows.push(row),
                Err(e) => {
                    report.rows += 1;
                    report.error(record.line, e.field(), strip_field(&e));
                }
            }
        }
        report.check_rows(rows, self.fields, labels);
        report
    }
}

/// Reads a CSV (`,` or `;`, guessed from the header) or JSON (an array of objects, or an object whose
/// `results` or `data` is one: an API page) table into records; `Err` for a file that is not a table at all.
pub(crate) fn read_table(
    file: &str,
    bytes: &[u8],
    columns: &[(&'static str, &[&str])],
    required: &[&str],
) -> Result<Vec<Record>, RowError> {
    let text = decode(bytes);
    let fail = |line: u64, field: &str, message: String| RowError {
        file: file.to_owned(),
        line,
        field: field.to_owned(),
        message,
    };
    let records = if text.trim_start().starts_with(['[', '{']) {
        read_json(&text, columns).map_err(|(line, m)| fail(line, "file", m))?
    } else {
        let header = text.lines().next().unwrap_or("");
        let delimiter = if header.matches(';').count() > header.matches(',').count() { b';' } else { b',' };
        let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
        let headers = csv.headers().map_err(|e| fail(1, "header", e.to_string()))?.clone();
        let index: Vec<Option<&'static str>> = headers.iter().map(|h| canonical(columns, h)).collect();
        let missing: Vec<&str> = required.iter().copied().filter(|c| !index.contains(&Some(*c))).collect();
        if !missing.is_empty() {
            let found = headers.iter().collect::<Vec<_>>().join(", ");
            return Err(fail(1, "header", format!("missing column(s) {} (found: {found})", missing.join(", "))));
        }
        let mut records = Vec::new();
        for row in csv.records() {
            let row = row.map_err(|e| fail(e.position().map_or(0, |p| p.line()), "row", e.to_string()))?;
            let mut record = Record { line: row.position().map_or(0, |p| p.line()), cells: HashMap::new() };
            for (i, cell) in row.iter().enumerate() {
                if let Some(Some(column)) = index.get(i) {
                    record.cells.insert(column, Cell::Text(cell.to_owned()));
                }
            }
            records.push(record);
        }
        records
    };
    Ok(records)
}

/// A JSON table, each record with the line its object starts on.
fn read_json(text: &str, columns: &[(&'static str, &[&str])]) -> Result<Vec<Record>, (u64, String)> {
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        #[serde(borrow, alias = "data")]
        results: Vec<&'a RawValue>,
    }
    let json_error = |e: serde_json::Error| (e.line() as u64, format!("not a JSON table of structures: {e}"));
    let items: Vec<&RawValue> = match serde_json::from_str::<Vec<&RawValue>>(text) {
        Ok(items) => items,
        Err(_) => serde_json::from_str::<Page>(text).map_err(json_error)?.results,
    };
    let base = text.as_ptr() as usize;
    let mut records = Vec::with_capacity(items.len());
    // Objects come in text order: count the line breaks since the previous one only (linear, not quadratic).
    let (mut counted_to, mut line) = (0usize, 1u64);
    for raw in items {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(base).clamp(counted_to, text.len());
        line += text.as_bytes()[counted_to..offset].iter().filter(|&&b| b == b'\n').count() as u64;
        counted_to = offset;
        let Ok(Value::Object(object)) = serde_json::from_str::<Value>(raw.get()) else {
            return Err((line, "each structure should be a JSON object".into()));
        };
        let mut record = Record { line, cells: HashMap::new() };
        for (key, value) in object {
            let Some(column) = canonical(columns, &key) else { continue };
            let cell = match value {
                Value::Null => continue,
                Value::String(s) => Cell::Text(s),
                Value::Array(items) => Cell::List(items.iter().filter_map(label_of).collect()),
                other => Cell::Text(other.to_string()),
            };
            record.cells.insert(column, cell);
        }
        records.push(record);
    }
    Ok(records)
}

/// A list item's label: a string, or an object's `name` (Le Marché's API gives sectors as `{name, slug}`).
fn label_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("name").or_else(|| o.get("nom")).and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// A structure of a source, as its importer read it, before checking.
#[derive(Debug, Default)]
pub(crate) struct Row {
    pub line: u64,
    pub siret: String,
    pub name: String,
    pub kind: String,
    /// Coordinates as given, `None` when the row has none.
    pub position: Option<(f64, f64)>,
    pub insee: String,
    pub postal_code: String,
    pub city: String,
    /// The département the source states (a fallback for the report when the commune is not found).
    pub departement: String,
    pub address: String,
    pub email: String,
    pub phone: String,
    pub sectors: Vec<String>,
}

/// The names a source gives the fields, so that a rejected row names the column its author knows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub siret: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub latitude: &'static str,
    pub longitude: &'static str,
    pub insee: &'static str,
    pub city: &'static str,
}

/// A structure ready to import: a supplier with no capacity (unknown until it says), and the sectors its
/// source lists.
#[derive(Debug, Clone)]
pub struct ImportedStructure {
    pub supplier: Supplier,
    pub sectors: Vec<Sector>,
    /// Its département (for the report and, later, territory scopes).
    pub departement: String,
}

/// What an importer found in a file: the structures to import, every rejected row, the warnings, and the
/// source's sector labels the table does not map.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub file: String,
    /// The source's name, for the report: « Le Marché de l'inclusion ».
    pub source: &'static str,
    /// Rows read (for FINESS, establishments of the kept category).
    pub rows: usize,
    pub structures: Vec<ImportedStructure>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<RowError>,
    /// Unmapped labels with how many rows list each.
    pub unmapped_sectors: BTreeMap<String, usize>,
    /// A note on rows left out on purpose (FINESS establishments of other categories).
    pub skipped: Option<String>,
}

impl ImportReport {
    pub(crate) fn new(file: &str, source: &'static str) -> Self {
        Self { file: file.to_owned(), source, ..Self::default() }
    }

    pub(crate) fn error(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.errors.push(RowError { file: self.file.clone(), line, field: field.into(), message: message.into() });
    }

    fn warn(&mut self, line: u64, field: &str, message: String) {
        self.warnings.push(RowError { file: self.file.clone(), line, field: field.into(), message });
    }

    /// Structures by kind code.
    pub fn by_kind(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for s in &self.structures {
            *counts.entry(s.supplier.kind.code()).or_default() += 1;
        }
        counts
    }

    /// Structures by département.
    pub fn by_departement(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for s in &self.structures {
            *counts.entry(s.departement.as_str()).or_default() += 1;
        }
        counts
    }

    /// The suppliers to import.
    pub fn suppliers(&self) -> Vec<Supplier> {
        self.structures.iter().map(|s| s.supplier.clone()).collect()
    }

    /// The report a dry run prints (and an import before saving): counts, unmapped sectors, warnings, rejected rows.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counts =
            |map: BTreeMap<&str, usize>| map.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            out,
            "{} ({}): {} row(s), {} structure(s) to import, {} rejected, {} warning(s)",
            self.file,
            self.source,
            self.rows,
            self.structures.len(),
            self.errors.len(),
            self.warnings.len()
        );
        if let Some(note) = &self.skipped {
            let _ = writeln!(out, "left out: {note}");
        }
        let _ = writeln!(out, "by kind: {}", counts(self.by_kind()));
        let _ = writeln!(out, "by département: {}", counts(self.by_departement()));
        let with_sectors = self.structures.iter().filter(|s| !s.sectors.is_empty()).count();
        let _ = writeln!(
            out,
            "capacity: unknown for all {} (not in the source); {} with at least one mapped sector",
            self.structures.len(),
            with_sectors
        );
        if self.unmapped_sectors.is_empty() {
            let _ = writeln!(out, "unmapped sectors: none");
        } else {
            let mut unmapped: Vec<(&String, &usize)> = self.unmapped_sectors.iter().collect();
            unmapped.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let _ = writeln!(out, "unmapped sectors ({}, add them to config/sector-labels.csv):", unmapped.len());
            for (label, n) in unmapped {
                let _ = writeln!(out, "  {n} × « {label} »");
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "warnings:");
            for w in &self.warnings {
                let _ = writeln!(out, "  {w}");
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(out, "rejected:");
            for e in &self.errors {
                let _ = writeln!(out, "  {e}");
            }
        }
        out
    }

    /// Checks every row and keeps the good ones; rows are refused for a bad SIRET, name or kind, a SIRET seen
    /// earlier in the file, or no position (neither coordinates nor a commune that can be found).
    pub(crate) fn check_rows(&mut self, rows: Vec<Row>, fields: Fields, labels: &SectorLabels) {
        let mut seen: HashMap<Siret, u64> = HashMap::new();
        for row in rows {
            self.rows += 1;
            let line = row.line;
            match self.check_row(&row, fields, labels) {
                Err(e) => self.error(line, e.field(), strip_field(&e)),
                Ok(structure) => {
                    if let Some(first) = seen.insert(structure.supplier.siret.clone(), line) {
                        let siret = structure.supplier.siret.to_string();
                        self.error(line, fields.siret, format!("{siret} already appears on line {first}"));
                        continue;
                    }
                    self.structures.push(structure);
                }
            }
        }
        self.errors.sort_by_key(|e| e.line);
        self.warnings.sort_by_key(|e| e.line);
    }

    fn check_row(&mut self, row: &Row, f: Fields, labels: &SectorLabels) -> Result<ImportedStructure, DomainError> {
        if row.siret.trim().is_empty() {
            return Err(invalid(f.siret, "no SIRET given (essaim knows a structure by its SIRET)"));
        }
        let siret = Siret::parse_field(f.siret, &row.siret)?;
        let kind = map_kind(&row.kind).ok_or_else(|| {
            let message = if row.kind.trim().is_empty() {
                "no kind given".to_owned()
            } else {
                format!(
                    "« {} » has no essaim kind (expected EI, AI, ACI, ETTI, EITI, GEIQ, EA, EATT, ESAT or TIH)",
                    row.kind.trim()
                )
            };
            invalid(f.kind, message)
        })?;
        if row.name.trim().is_empty() {
            return Err(DomainError::Empty { field: f.name.into() });
        }
        let commune = self.commune(row, f);
        let location = match row.position {
            Some((lat, lon)) => GeoPoint::checked(f.latitude, lat, f.longitude, lon)?,
            None => {
                let commune = commune.clone()?;
                let position = commune.position.ok_or_else(|| {
                    invalid(
                        f.latitude,
                        format!("no position: {} {} has none in the communes table", commune.insee, commune.name),
                    )
                })?;
                if commune.position_is_fallback {
                    self.warn(
                        row.line,
                        f.city,
                        format!(
                            "{} {} has no position of its own: placed at its département's chef-lieu (give \
                             latitude and longitude to place it exactly)",
                            commune.insee, commune.name
                        ),
                    );
                }
                position
            }
        };
        let found = commune.ok();
        let mut supplier =
            Supplier::new(siret, &row.name, kind, location, DEFAULT_MAX_DISTANCE_KM, 0.0, Default::default(), None)?;
        supplier.commune = found.map(|c| c.insee.to_owned());
        let optional = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        supplier.contact = Contact { name: None, email: optional(&row.email), phone: optional(&row.phone) };
        supplier.address = optional(&[row.address.trim(), row.postal_code.trim(), row.city.trim()].join(" "))
            .map(|a| a.split_whitespace().collect::<Vec<_>>().join(" "));
        let mut sectors = Vec::new();
        let mut listed = HashSet::new();
        for label in &row.sectors {
            match labels.map(label) {
                Some(sector) => {
                    if listed.insert(sector.clone()) {
                        sectors.push(sector);
                    }
                }
                None => *self.unmapped_sectors.entry(label.clone()).or_default() += 1,
            }
        }
        let departement = match found {
            Some(c) => c.departement.to_owned(),
            None if !row.departement.trim().is_empty() => row.departement.trim().to_owned(),
            None => "?".to_owned(),
        };
        Ok(ImportedStructure { supplier, sectors, departement })
    }

    /// The row's commune: by its INSEE code, else by postal code and name (CEDEX codes included).
    fn commune(&self, row: &Row, f: Fields) -> Result<&'static Commune, DomainError> {
        let (insee, cp, city) = (row.insee.trim(), row.postal_code.trim(), row.city.trim());
        if !insee.is_empty() {
            territory::commune(insee).map_err(|e| invalid(f.insee, e.to_string()))
        } else if !cp.is_empty() && !city.is_empty() {
            territory::resolve(cp, city).map_err(|e| invalid(f.city, e.to_string()))
        } else {
            Err(invalid(
                f.latitude,
                "no position: give latitude and longitude, a commune code, or a postal code and a commune",
            ))
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> DomainError {
    DomainError::Invalid { field: field.to_owned(), message: message.into() }
}

/// A number as exports write it (`45.75`, `45,75`); `None` for an empty cell.
pub(crate) fn number(field: &str, text: &str) -> Result<Option<f64>, DomainError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.replace(',', ".").parse::<f64>().map(Some).map_err(|_| invalid(field, format!("« {t} » is not a number")))
}

/// A record's coordinates: both, neither (`None`), or an error; 0/0 (an export's « unknown ») counts as neither.
pub(crate) fn coordinates(record: &Record, lat: &str, lon: &str) -> Result<Option<(f64, f64)>, DomainError> {
    match (number(lat, &record.get(lat))?, number(lon, &record.get(lon))?) {
        (Some(a), Some(b)) if a == 0.0 && b == 0.0 => Ok(None),
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid(lon, "a latitude without longitude")),
        (None, Some(_)) => Err(invalid(lat, "a longitude without latitude")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::taxonomy;

    #[test]
    fn the_shipped_sector_table_maps_onto_the_shipped_taxonomy() {
        let labels = SectorLabels::shipped(&taxonomy()).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(labels.len() > 20);
        assert_eq!(labels.map("Nettoyage de locaux").unwrap().as_str(), "nettoyage");
        assert_eq!(labels.map("CRÉATION ET ENTRETIEN DES ESPACES VERTS").unwrap().as_str(), "espaces_verts");
        assert_eq!(labels.map("Apiculture"), None);
    }

    #[test]
    fn a_bad_sector_table_names_its_lines() {
        let text = "label;sector\nNettoyage;nettoyage\nPlomberie;plomberie\nNettoyage;logistique\n";
        let errors = SectorLabels::parse("t.csv", text, &taxonomy()).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("t.csv:3: sector:") && lines[0].contains("plomberie"), "{}", lines[0]);
        assert_eq!(lines[1], "t.csv:4: label: « Nettoyage » is already mapped to nettoyage");
    }

    #[test]
    fn kinds_by_code_display_name_or_name() {
        assert_eq!(map_kind("ei"), Some(SupplierKind::Ei));
        assert_eq!(map_kind("Entreprise d'insertion (EI)"), Some(SupplierKind::Ei));
        assert_eq!(map_kind("Etablissement et service d'aide par le travail"), Some(SupplierKind::Esat));
        assert_eq!(map_kind("ACIPHC"), Some(SupplierKind::Aci));
        assert_eq!(map_kind("SEP"), None);
        assert_eq!(map_kind("Produits et services réalisés en prison (SEP)"), None);
        assert_eq!(map_kind("CCAS"), None);
    }
}
