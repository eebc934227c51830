//! FINESS establishments, the public extraction published on data.gouv.fr (« FINESS Extraction du Fichier des
//! établissements », etalab-cs1100507-stock-*.csv): semicolon separated, no header line, a `structureet` row per
//! establishment and a `geolocalisation` row with its Lambert-93 coordinates; only category 246 (ESAT) is kept
//! (docs/import.md).

use std::collections::HashMap;

use crate::lambert::lambert93_to_wgs84;
use crate::mapping::{Fields, ImportReport, Row, SectorLabels, decode};

/// `categetab` of an « Etablissement et Service d'Aide par le Travail (E.S.A.T.) ».
pub const CATEGORY_ESAT: &str = "246";

// Positions in a `structureet` row (the extraction's documentation, « Description du fichier »).
const NOFINESSET: usize = 1;
const RS: usize = 3;
const RSLONGUE: usize = 4;
const NUMVOIE: usize = 7;
const TYPVOIE: usize = 8;
const VOIE: usize = 9;
const COMPVOIE: usize = 10;
const LIEUDITBP: usize = 11;
const COMMUNE: usize = 12;
const DEPARTEMENT: usize = 13;
const LIGNEACHEMINEMENT: usize = 15;
const TELEPHONE: usize = 16;
const CATEGETAB: usize = 18;
const SIRET: usize = 22;
// Positions in a `geolocalisation` row.
const COORDX: usize = 2;
const COORDY: usize = 3;
const SOURCECOORD: usize = 4;

pub(crate) const FIELDS: Fields = Fields {
    siret: "siret",
    name: "rs",
    kind: "categetab",
    latitude: "coordxet",
    longitude: "coordyet",
    insee: "commune",
    city: "ligneacheminement",
};

/// The INSEE code of a FINESS commune: the département then the commune's three digits; FINESS codes the
/// overseas départements 9A…9F and their communes with three digits that start with the département's last
/// one (9A + 101 → 97101, Les Abymes; 9D + 411 → 97411, Saint-Denis).
///
/// Copies that went through a spreadsheet lose the leading zeros (département `1`, commune `53` for 01053): they
/// are put back.
fn insee_code(departement: &str, commune: &str) -> String {
    let dep = departement.trim();
    let com = format!("{:0>3}", commune.trim());
    match dep.as_bytes() {
        [b'9', b'A'..=b'F'] => format!("97{com}"),
        [d] if d.is_ascii_digit() => format!("0{dep}{com}"),
        _ => format!("{dep}{com}"),
    }
}

/// Reads a FINESS extraction; `file` names it in the report.
pub fn read_finess(file: &str, bytes: &[u8], labels: &SectorLabels) -> ImportReport {
    let mut report = ImportReport::new(file, "FINESS, établissements (ESAT, catégorie 246)");
    let text = decode(bytes);
    let mut csv =
        csv::ReaderBuilder::new().delimiter(b';').has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut esat: Vec<(u64, csv::StringRecord)> = Vec::new();
    let mut geo: HashMap<String, (u64, csv::StringRecord)> = HashMap::new();
    let mut other = 0usize;
    for record in csv.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.error(e.position().map_or(0, |p| p.line()), "row", e.to_string());
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match record.get(0).map(str::trim) {
            Some("structureet") => {
                if record.len() <= SIRET {
                    report.rows += 1;
                    let message = format!("{} fields, a structureet row has 32", record.len());
                    report.error(line, "structureet", message);
                } else if record.get(CATEGETAB).map(str::trim) == Some(CATEGORY_ESAT) {
                    esat.push((line, record));
                } else {
                    other += 1;
                }
            }
            Some("geolocalisation") => {
                let key = record.get(NOFINESSET).unwrap_or("").trim().to_owned();
                geo.insert(key, (line, record));
            }
            // The first line (`finess;etalab;…`) and any other kind of row.
            _ => {}
        }
    }
    if other > 0 {
        report.skipped = Some(format!("{other} establishment(s) of another category than 246 (ESAT)"));
    }
    let mut rows = Vec::with_capacity(esat.len());
    let mut notes = Vec::new();
    for (line, r) in esat {
        let get = |i: usize| r.get(i).unwrap_or("").trim().to_owned();
        let nofiness = get(NOFINESSET);
        let position = match geo.get(&nofiness) {
            Some((geo_line, g)) => {
                let number = |i: usize| g.get(i).unwrap_or("").trim().replace(',', ".").parse::<f64>().ok();
                // One field (`1,ATLASANTE,…,LAMBERT_93`), or split on `;` in copies a spreadsheet saved again:
                // everything between the coordinates and the closing date.
                let source = if g.len() > SOURCECOORD + 2 {
                    g.iter().skip(SOURCECOORD).take(g.len() - SOURCECOORD - 1).collect::<Vec<_>>().join(",")
                } else {
                    g.get(SOURCECOORD).unwrap_or("").trim().to_owned()
                };
                let xy = number(COORDX).zip(number(COORDY));
                // Overseas establishments carry UTM coordinates (the source names the projection); they, and
                // numbers that are not Lambert-93, are placed by their commune instead.
                match xy.filter(|_| source.is_empty() || source.to_uppercase().contains("LAMBERT_93")) {
                    Some((x, y)) => match lambert93_to_wgs84(x, y) {
                        Some(p) => Some(p),
                        None => {
                            notes.push((
                                *geo_line,
                                format!("« {x} {y} » is not a Lambert-93 position: placed by its commune"),
                            ));
                            None
                        }
                    },
                    None => {
                        let what = if source.is_empty() {
                            "no usable coordinates".to_owned()
                        } else {
                            format!("coordinates in « {source} »")
                        };
                        notes.push((*geo_line, format!("{what}, not Lambert-93: placed by its commune")));
                        None
                    }
                }
            }
            None => None,
        };
        let acheminement = get(LIGNEACHEMINEMENT);
        let (postal_code, city) = match acheminement.split_once(' ') {
            Some((cp, city)) if cp.len() == 5 && cp.bytes().all(|b| b.is_ascii_digit()) => {
                (cp.to_owned(), city.trim().to_owned())
            }
            _ => (String::new(), acheminement.clone()),
        };
        let street = [NUMVOIE, TYPVOIE, VOIE, COMPVOIE, LIEUDITBP]
            .iter()
            .map(|&i| get(i))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let long_name = get(RSLONGUE);
        rows.push(Row {
            line,
            siret: get(SIRET),
            name: if long_name.is_empty() { get(RS) } else { long_name },
            // Category 246 is the ESAT category: the kind follows from the filter.
            kind: "ESAT".into(),
            position,
            insee: if get(COMMUNE).is_empty() { String::new() } else { insee_code(&get(DEPARTEMENT), &get(COMMUNE)) },
            postal_code,
            city,
            departement: get(DEPARTEMENT),
            address: street,
            email: String::new(),
            phone: get(TELEPHONE),
            sectors: Vec::new(),
        });
    }
    report.check_rows(rows, FIELDS, labels);
    for (line, note) in notes {
        report.warnings.push(crate::RowError {
            file: file.to_owned(),
            line,
            field: "sourcecoordet".into(),
            message: note,
        });
    }
    report.warnings.sort_by_key(|w| w.line);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finess_commune_codes_become_insee_codes() {
        assert_eq!(insee_code("69", "123"), "69123");
        assert_eq!(insee_code("2A", "004"), "2A004");
        assert_eq!(insee_code("9D", "411"), "97411");
        assert_eq!(insee_code("9A", "101"), "97101");
        assert_eq!(insee_code("1", "53"), "01053", "zeros a spreadsheet dropped");
    }
}
