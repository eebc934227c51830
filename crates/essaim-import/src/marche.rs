//! Le Marché de l'inclusion's structures (CSV or JSON), as its API and exports give them
//! (gip-inclusion/le-marche: lemarche/api/siaes/serializers.py for the field names, lemarche/siaes/constants.py
//! for the kinds; docs/import.md).

use crate::mapping::{Fields, ImportReport, Record, Row, SectorLabels, Table, coordinates};

/// Canonical column → the headers accepted for it: the API's field names, and the French headers of the
/// Marché's spreadsheet export (its verbose names).
const COLUMNS: &[(&str, &[&str])] = &[
    ("siret", &["siret"]),
    ("name", &["name", "raison sociale", "nom"]),
    ("brand", &["brand", "enseigne"]),
    ("kind", &["kind", "type", "type de structure"]),
    ("address", &["address", "adresse"]),
    ("post_code", &["post_code", "code postal"]),
    ("city", &["city", "ville"]),
    ("department", &["department", "departement"]),
    ("latitude", &["latitude", "lat"]),
    ("longitude", &["longitude", "lng", "lon"]),
    ("sectors", &["sectors", "secteurs", "secteurs d activite"]),
    ("contact_email", &["contact_email", "email", "e mail de contact"]),
    ("contact_phone", &["contact_phone", "telephone", "telephone de contact"]),
];

const REQUIRED: &[&str] = &["siret", "name", "kind"];

pub(crate) const FIELDS: Fields = Fields {
    siret: "siret",
    name: "name",
    kind: "kind",
    latitude: "latitude",
    longitude: "longitude",
    insee: "city",
    city: "city",
};

/// Reads a Marché de l'inclusion export; `file` names it in the report.
pub fn read_marche(file: &str, bytes: &[u8], labels: &SectorLabels) -> ImportReport {
    Table { source: "Le Marché de l'inclusion", columns: COLUMNS, required: REQUIRED, fields: FIELDS, row }
        .read(file, bytes, labels)
}

fn row(r: &Record) -> Result<Row, essaim_core::DomainError> {
    let name = match (r.get("name"), r.get("brand")) {
        (name, _) if !name.is_empty() => name,
        (_, brand) => brand,
    };
    Ok(Row {
        line: r.line,
        siret: r.get("siret"),
        name,
        kind: r.get("kind"),
        position: coordinates(r, "latitude", "longitude")?,
        insee: String::new(),
        postal_code: r.get("post_code"),
        city: r.get("city"),
        departement: r.get("department"),
        address: r.get("address"),
        email: r.get("contact_email"),
        phone: r.get("contact_phone"),
        sectors: r.list("sectors"),
    })
}
