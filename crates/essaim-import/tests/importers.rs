//! The importers of real exports, on small fixtures of each format (tests/fixtures): what is imported, what is
//! refused and why (`file:line: field: reason`), the warnings, the unmapped sectors and the dry-run report.

use essaim_core::{Sector, SupplierKind};
use essaim_import::{ImportReport, SectorLabels, read_data_inclusion, read_finess, read_marche};

#[path = "shared/taxonomy.rs"]
mod shared;
use shared::taxonomy;

fn labels() -> SectorLabels {
    SectorLabels::shipped(&taxonomy()).expect("config/sector-labels.csv")
}

fn lines(errors: &[essaim_import::RowError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn structure<'r>(report: &'r ImportReport, siret: &str) -> &'r essaim_import::ImportedStructure {
    report.structures.iter().find(|s| s.supplier.siret.as_str() == siret).unwrap_or_else(|| panic!("{siret}"))
}

fn sectors(s: &essaim_import::ImportedStructure) -> Vec<&str> {
    s.sectors.iter().map(Sector::as_str).collect()
}

#[test]
fn marche_csv_imports_maps_and_rejects_row_by_row() {
    let report = read_marche("marche.csv", include_bytes!("fixtures/marche.csv"), &labels());
    assert_eq!(report.rows, 8);
    assert_eq!(
        lines(&report.errors),
        [
            "marche.csv:6: kind: « SEP » has no essaim kind (expected EI, AI, ACI, ETTI, EITI, GEIQ, EA, EATT, ESAT or TIH)",
            "marche.csv:7: siret: « 40612345600019 » is not a valid SIRET: its check digit is wrong (Luhn key); check for a typo",
            "marche.csv:8: latitude: no position: give latitude and longitude, a commune code, or a postal code and a commune",
        ]
    );
    assert_eq!(
        lines(&report.warnings),
        ["marche.csv:5: city: 14581 Aurseulles has no position of its own: placed at its département's chef-lieu \
          (give latitude and longitude to place it exactly)"]
    );
    assert_eq!(report.structures.len(), 5);
    let pentes = structure(&report, "40112345600014");
    assert_eq!(pentes.supplier.kind, SupplierKind::Ei);
    assert_eq!(pentes.supplier.location.lat, 45.7699, "its own coordinates are kept");
    assert_eq!(pentes.supplier.commune.as_deref(), Some("69123"));
    assert!(pentes.supplier.capacities.is_empty(), "capacity unknown until the structure says");
    assert_eq!(sectors(pentes), ["nettoyage"]);
    assert_eq!(pentes.supplier.contact.email.as_deref(), Some("contact@pentes.example"));
    // « Entreprise … (ESAT) » display name, « ST ETIENNE » with its postal code, two labels for one sector.
    let forez = structure(&report, "40212345600012");
    assert_eq!(forez.supplier.kind, SupplierKind::Esat);
    assert_eq!(forez.supplier.commune.as_deref(), Some("42218"));
    assert!((forez.supplier.location.lat - 45.44).abs() < 0.01, "placed at Saint-Étienne's town hall");
    assert_eq!(sectors(forez), ["espaces_verts"]);
    // A CEDEX code: resolved by the name in the département it designates.
    assert_eq!(structure(&report, "40312345600010").supplier.commune.as_deref(), Some("69123"));
    assert_eq!(sectors(structure(&report, "40312345600010")), ["dechets"]);
    // Logistique and Déménagement both map to logistique (separated by `;` in the cell).
    assert_eq!(sectors(structure(&report, "40812345600019")), ["logistique"]);
    assert_eq!(
        report.unmapped_sectors.iter().map(|(l, n)| (l.as_str(), *n)).collect::<Vec<_>>(),
        [("Apiculture", 2), ("Sport", 1)]
    );
    assert_eq!(report.by_kind().into_iter().collect::<Vec<_>>(), [("ACI", 1), ("EI", 2), ("ESAT", 1), ("ETTI", 1)]);
    assert_eq!(report.by_departement().into_iter().collect::<Vec<_>>(), [("14", 1), ("29", 1), ("42", 1), ("69", 2)]);
}

#[test]
fn the_dry_run_report_says_counts_unmapped_sectors_warnings_and_rejections() {
    let report = read_marche("marche.csv", include_bytes!("fixtures/marche.csv"), &labels());
    let text = report.render();
    let expected_start = "marche.csv (Le Marché de l'inclusion): 8 row(s), 5 structure(s) to import, 3 rejected, 1 warning(s)\n\
         by kind: ACI 1, EI 2, ESAT 1, ETTI 1\n\
         by département: 14 1, 29 1, 42 1, 69 2\n\
         capacity: unknown for all 5 (not in the source); 5 with at least one mapped sector\n\
         unmapped sectors (2, add them to config/sector-labels.csv):\n  2 × « Apiculture »\n  1 × « Sport »\n\
         warnings:\n  marche.csv:5: city: 14581 Aurseulles";
    assert!(text.starts_with(expected_start), "{text}");
    assert!(text.contains("rejected:\n  marche.csv:6: kind: « SEP »"), "{text}");
    assert!(text.ends_with("marche.csv:8: latitude: no position: give latitude and longitude, a commune code, or a postal code and a commune\n"), "{text}");
}

#[test]
fn marche_json_an_api_page_with_sector_objects_and_lines_of_each_object() {
    let report = read_marche("marche.json", include_bytes!("fixtures/marche.json"), &labels());
    assert_eq!(report.rows, 4);
    let errors = lines(&report.errors);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("marche.json:26: kind: « SEP »"), "{errors:?}");
    assert!(errors[1].starts_with("marche.json:34: siret:"), "{errors:?}");
    assert_eq!(sectors(structure(&report, "40112345600014")), ["nettoyage"]);
    assert_eq!(sectors(structure(&report, "40212345600012")), ["espaces_verts"]);
    assert_eq!(structure(&report, "40212345600012").supplier.commune.as_deref(), Some("42218"), "null coordinates");
    assert_eq!(report.unmapped_sectors.get("Apiculture"), Some(&1));
}

#[test]
fn data_inclusion_csv_by_insee_code_first_then_postal_code_and_name() {
    let report = read_data_inclusion("di.csv", include_bytes!("fixtures/data_inclusion.csv"), &labels());
    assert_eq!(report.rows, 7);
    assert_eq!(
        lines(&report.errors),
        [
            "di.csv:6: typologie: « CCAS » has no essaim kind (expected EI, AI, ACI, ETTI, EITI, GEIQ, EA, EATT, ESAT or TIH)",
            "di.csv:7: siret: « 40612345600019 » is not a valid SIRET: its check digit is wrong (Luhn key); check for a typo",
            "di.csv:8: latitude: no position: give latitude and longitude, a commune code, or a postal code and a commune",
        ]
    );
    assert_eq!(lines(&report.warnings).len(), 1);
    assert!(lines(&report.warnings)[0].starts_with("di.csv:4: commune: 14581 Aurseulles has no position of its own"));
    assert_eq!(structure(&report, "40212345600012").supplier.commune.as_deref(), Some("42218"));
    assert_eq!(structure(&report, "40312345600010").supplier.commune.as_deref(), Some("69123"), "CEDEX");
    assert_eq!(structure(&report, "40112345600014").supplier.contact.phone.as_deref(), Some("+33478000001"));
    assert!(report.unmapped_sectors.is_empty(), "the schema's structures carry no activity");
    assert_eq!(report.by_departement().into_iter().collect::<Vec<_>>(), [("14", 1), ("42", 1), ("69", 2)]);
}

#[test]
fn data_inclusion_json() {
    let report = read_data_inclusion("di.json", include_bytes!("fixtures/data_inclusion.json"), &labels());
    assert_eq!(report.structures.len(), 2);
    assert_eq!(lines(&report.errors).len(), 1);
    assert!(lines(&report.errors)[0].starts_with("di.json:7: typologie: « CCAS »"), "{:?}", report.errors);
}

#[test]
fn finess_keeps_esat_converts_lambert_93_and_places_the_others_by_commune() {
    let report = read_finess("finess.csv", include_bytes!("fixtures/finess.csv"), &labels());
    assert_eq!(report.rows, 6, "the six ESAT (category 246) of seven establishments");
    assert_eq!(report.skipped.as_deref(), Some("1 establishment(s) of another category than 246 (ESAT)"));
    assert_eq!(lines(&report.errors), ["finess.csv:6: siret: no SIRET given (essaim knows a structure by its SIRET)"]);
    let pentes = structure(&report, "40112345600014");
    assert_eq!(pentes.supplier.kind, SupplierKind::Esat);
    assert_eq!(pentes.supplier.name, "ESAT Les Pentes", "rslongue preferred");
    assert!((pentes.supplier.location.lat - 45.7699).abs() < 1e-5, "{:?}", pentes.supplier.location);
    assert!((pentes.supplier.location.lon - 4.8322).abs() < 1e-5, "{:?}", pentes.supplier.location);
    assert_eq!(pentes.supplier.commune.as_deref(), Some("69381"), "Lyon 1er: département 69, commune 381");
    let forez = structure(&report, "40212345600012");
    assert!((forez.supplier.location.lat - 45.4340).abs() < 1e-5);
    // Overseas: UTM coordinates are not used; placed by its commune, 9D + 411 = 97411 (Saint-Denis, La Réunion).
    let reunion = structure(&report, "40812345600019");
    assert_eq!(reunion.supplier.commune.as_deref(), Some("97411"));
    assert_eq!(reunion.departement, "974");
    // A copy saved by a spreadsheet: leading zeros dropped (département 1, commune 53) and the coordinates'
    // source split on `;`.
    let bresse = structure(&report, "40712345600011");
    assert_eq!(bresse.supplier.commune.as_deref(), Some("01053"), "Bourg-en-Bresse");
    let at = bresse.supplier.location;
    assert!((at.lat - 45.961_16).abs() < 1e-4 && (at.lon - 5.357_29).abs() < 1e-4, "its Lambert-93 position: {at:?}");
    let warnings = lines(&report.warnings);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("finess.csv:5: ligneacheminement: 14581 Aurseulles"), "{warnings:?}");
    assert_eq!(
        warnings[1],
        "finess.csv:10: sourcecoordet: coordinates in « 1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,UTM_S40 », not Lambert-93: placed by its commune"
    );
}

#[test]
fn a_file_that_is_not_a_table_is_one_error() {
    let report = read_marche("x.csv", b"nom\nA\n", &labels());
    assert_eq!(lines(&report.errors), ["x.csv:1: header: missing column(s) siret, kind (found: nom)"]);
    let report = read_data_inclusion("x.json", b"{\"oops\": 1}", &labels());
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].to_string().starts_with("x.json:1: file: not a JSON table"), "{:?}", report.errors);
}
