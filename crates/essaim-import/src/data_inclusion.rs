//! data·inclusion « structures » (schema v1, CSV or JSON: gip-inclusion/data-inclusion-schema, docs/structure.md;
//! typologies: docs/referentiels/typologies_de_structures.md; docs/import.md).

use crate::mapping::{Fields, ImportReport, Record, Row, SectorLabels, Table, coordinates};

const COLUMNS: &[(&str, &[&str])] = &[
    ("siret", &["siret"]),
    ("nom", &["nom"]),
    ("typologie", &["typologie"]),
    ("commune", &["commune"]),
    ("code_postal", &["code_postal"]),
    ("code_insee", &["code_insee"]),
    ("adresse", &["adresse"]),
    ("complement_adresse", &["complement_adresse"]),
    ("latitude", &["latitude"]),
    ("longitude", &["longitude"]),
    ("courriel", &["courriel"]),
    ("telephone", &["telephone"]),
    // Not in the schema's structures: a publisher's own activity labels, mapped like Le Marché's when present.
    ("secteurs", &["secteurs", "secteurs_activite", "activites"]),
];

const REQUIRED: &[&str] = &["siret", "nom", "typologie"];

pub(crate) const FIELDS: Fields = Fields {
    siret: "siret",
    name: "nom",
    kind: "typologie",
    latitude: "latitude",
    longitude: "longitude",
    insee: "code_insee",
    city: "commune",
};

/// Reads a data·inclusion structures file; `file` names it in the report.
pub fn read_data_inclusion(file: &str, bytes: &[u8], labels: &SectorLabels) -> ImportReport {
    Table { source: "data·inclusion, structures v1", columns: COLUMNS, required: REQUIRED, fields: FIELDS, row }
        .read(file, bytes, labels)
}

fn row(r: &Record) -> Result<Row, essaim_core::DomainError> {
    let address = [r.get("adresse"), r.get("complement_adresse")]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Row {
        line: r.line,
        siret: r.get("siret"),
        name: r.get("nom"),
        kind: r.get("typologie"),
        position: coordinates(r, "latitude", "longitude")?,
        insee: r.get("code_insee"),
        postal_code: r.get("code_postal"),
        city: r.get("commune"),
        departement: String::new(),
        address,
        email: r.get("courriel"),
        phone: r.get("telephone"),
        sectors: r.list("secteurs"),
    })
}
