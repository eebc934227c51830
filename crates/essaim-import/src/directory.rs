//! The directory of inclusive structures: a CSV file, one structure per row (docs/formats.md).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use essaim_core::{
    Contact, DomainError, GeoPoint, Groupement, GroupementCode, SectorTaxonomy, Siret, Supplier, SupplierKind,
    parse_capacities,
};

use crate::strip_field;

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
    let mut reader = Reader::new(name);
    let Some(text) = reader.decode(bytes) else { return reader.out };
    let header_line = text.lines().next().unwrap_or("");
    let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() { b';' } else { b',' };
    let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let Some(columns) = reader.columns(&mut csv) else { return reader.out };
    for record in csv.records() {
        match record {
            Ok(record) => reader.row(&record, &columns, taxonomy),
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                reader.error(line, "row", e.to_string());
            }
        }
    }
    reader.finish()
}

/// Where a column of the directory is in the file.
struct Columns(HashMap<&'static str, usize>);

impl Columns {
    /// The trimmed cell of `column` in `record`; empty when the file has no such column.
    fn get<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.0.get(column).and_then(|&i| record.get(i)).map(str::trim).unwrap_or("")
    }
}

/// A directory being read: what was found so far, row after row.
struct Reader<'a> {
    name: &'a str,
    out: DirectoryFile,
    /// The line each SIRET was first seen on.
    seen: HashMap<Siret, u64>,
    groupements: BTreeMap<GroupementCode, GroupementRows>,
    /// Each groupement's name, with the line that first gave it.
    names: BTreeMap<GroupementCode, (String, u64)>,
}

impl<'a> Reader<'a> {
    fn new(name: &'a str) -> Self {
        Reader {
            name,
            out: DirectoryFile::default(),
            seen: HashMap::new(),
            groupements: BTreeMap::new(),
            names: BTreeMap::new(),
        }
    }

    fn error(&mut self, line: u64, field: &str, message: String) {
        self.out.errors.push(RowError { file: self.name.into(), line, field: field.into(), message });
    }

    /// The file as text, without its byte-order mark; `None` (and the line of the first bad byte) when it
    /// is not UTF-8.
    fn decode<'b>(&mut self, bytes: &'b [u8]) -> Option<&'b str> {
        match std::str::from_utf8(bytes) {
            Ok(t) => Some(t.trim_start_matches('\u{feff}')),
            Err(e) => {
                let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
                self.error(line, "file", "the file is not UTF-8 text (save it as « CSV UTF-8 »)".into());
                None
            }
        }
    }

    /// The header: where each known column is; `None` when a required one, or any position, is missing.
    fn columns(&mut self, csv: &mut csv::Reader<&[u8]>) -> Option<Columns> {
        let headers = match csv.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                self.error(1, "header", e.to_string());
                return None;
            }
        };
        let mut index = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            let h = h.trim().to_lowercase();
            if let Some((column, _)) = COLUMNS.iter().find(|(_, aliases)| aliases.contains(&h.as_str())) {
                index.insert(*column, i);
            }
        }
        let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| !index.contains_key(c)).collect();
        if !missing.is_empty() {
            let found = headers.iter().collect::<Vec<_>>().join(", ");
            self.error(1, "header", format!("missing column(s) {} (found: {found})", missing.join(", ")));
            return None;
        }
        if !(index.contains_key("latitude") && index.contains_key("longitude") || index.contains_key("commune")) {
            self.error(1, "header", "give latitude and longitude columns, or a commune column".into());
            return None;
        }
        Some(Columns(index))
    }

    /// One row: a supplier, with its place in a groupement; or why it is refused.
    fn row(&mut self, record: &csv::StringRecord, columns: &Columns, taxonomy: &SectorTaxonomy) {
        self.out.rows += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        match read_row(|column| columns.get(record, column), taxonomy) {
            Err(e) => self.error(line, e.field(), strip_field(&e)),
            Ok((supplier, groupement)) => {
                if let Some(first) = self.seen.insert(supplier.siret.clone(), line) {
                    self.error(line, "siret", format!("{} already appears on line {first}", supplier.siret));
                    return;
                }
                if let Some(cell) = groupement
                    && !self.join(line, &supplier.siret, cell)
                {
                    return;
                }
                self.out.suppliers.push(supplier);
            }
        }
    }

    /// Counts a row in its groupement; `false` (and an error) when it names the groupement differently
    /// from an earlier row or is a second lead.
    fn join(&mut self, line: u64, siret: &Siret, (code, lead, name): GroupementCell) -> bool {
        // The groupement's name may be given on any of its rows, the same each time.
        if !name.is_empty() {
            match self.names.get(&code) {
                Some((known, first)) if *known != name => {
                    let message = format!("{code} is already named « {known} » on line {first}");
                    self.error(line, "groupement_name", message);
                    return false;
                }
                Some(_) => {}
                None => {
                    self.names.insert(code.clone(), (name, line));
                }
            }
        }
        let entry = self.groupements.entry(code.clone()).or_default();
        if lead {
            if let Some((_, first)) = &entry.0 {
                let message = format!("{code} already has its lead on line {first}");
                self.error(line, "groupement_lead", message);
                return false;
            }
            entry.0 = Some((siret.clone(), line));
        }
        entry.1.push(siret.clone());
        true
    }

    /// The groupements, each with its one lead, and every problem in line order.
    fn finish(mut self) -> DirectoryFile {
        for (code, (lead, members)) in std::mem::take(&mut self.groupements) {
            match lead {
                None => self.error(
                    1,
                    "groupement_lead",
                    format!("groupement {code} has no lead: set groupement_lead=true on its mandataire's row"),
                ),
                Some((lead, line)) => {
                    let name = self.names.get(&code).map_or("", |(name, _)| name.as_str());
                    match Groupement::new(code.clone(), name, lead, members) {
                        Ok(g) => self.out.groupements.push(g),
                        Err(e) => self.error(line, e.field(), strip_field(&e)),
                    }
                }
            }
        }
        self.out.errors.sort_by_key(|e| e.line);
        self.out
    }
}

/// Reads one row's cells (`get` gives a column's trimmed cell, empty when absent).
fn read_row<'r>(
    get: impl Fn(&str) -> &'r str,
    taxonomy: &SectorTaxonomy,
) -> Result<(Supplier, Option<GroupementCell>), DomainError> {
    let siret = Siret::parse(get("siret"))?;
    let kind = SupplierKind::parse_field("kind", get("kind"))?;
    let commune = get("commune");
    let location = position(get("latitude"), get("longitude"), commune)?;
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
    supplier.contact =
        Contact { name: optional("contact_name"), email: optional("contact_email"), phone: optional("contact_phone") };
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
}

/// A row's position: its coordinates, or else its commune's (the national communes table).
fn position(lat: &str, lon: &str, commune: &str) -> Result<GeoPoint, DomainError> {
    if !lat.is_empty() || !lon.is_empty() {
        GeoPoint::checked("latitude", parse_number("latitude", lat)?, "longitude", parse_number("longitude", lon)?)
    } else if !commune.is_empty() {
        let invalid = |message: String| DomainError::Invalid { field: "commune".into(), message };
        let found = essaim_core::territory::commune(commune)
            .map_err(|e| invalid(format!("{e} (give latitude and longitude instead)")))?;
        // A commune with only its département's chef-lieu as position is refused rather than placed up to
        // tens of km off without a word.
        essaim_core::commune_position(found.insee).ok_or_else(|| {
            invalid(format!(
                "{} {} has no position of its own in the communes table (only its département's chef-lieu): \
                 give latitude and longitude",
                found.insee, found.name
            ))
        })
    } else {
        Err(DomainError::Invalid {
            field: "latitude".into(),
            message: "no position: give latitude and longitude, or a commune code".into(),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::taxonomy;

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
    fn commune_codes_of_all_of_france_place_a_structure() {
        let text = format!(
            "{HEADER}73282932000074,Marseille,EI,,,13055,30,10,nettoyage:10,,\n\
             35600000049837,Rennes,ESAT,,,35238,30,0,nettoyage:10,,\n\
             73282932000074,Aurseulles,EI,,,14581,30,10,nettoyage:10,,\n\
             73282932000074,Nowhere,EI,,,99999,30,10,nettoyage:10,,\n"
        );
        let file = read_directory("dir.csv", text.as_bytes(), &taxonomy());
        assert_eq!(file.suppliers.len(), 2, "{:?}", file.errors);
        assert!((file.suppliers[0].location.lat - 43.30).abs() < 0.05, "Marseille placed");
        assert!((file.suppliers[1].location.lat - 48.11).abs() < 0.05, "Rennes placed");
        let lines: Vec<String> = file.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "dir.csv:4: commune: 14581 Aurseulles has no position of its own in the communes table (only its \
                 département's chef-lieu): give latitude and longitude",
                "dir.csv:5: commune: unknown commune code « 99999 » (give latitude and longitude instead)",
            ]
        );
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
}
