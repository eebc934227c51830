//! « 3 000 structures across 13 regions in each format load in seconds »: the time each importer takes to read
//! and check the generated exports (essaim_import::sample). A measure, not a timed assertion: run it with
//! `cargo test --release -p essaim-import --test load -- --ignored --nocapture`.

use std::time::Instant;

use essaim_import::{SectorLabels, read_data_inclusion, read_finess, read_marche, sample};

#[path = "shared/taxonomy.rs"]
mod shared;
use shared::taxonomy;

#[test]
#[ignore = "a measure: run with --ignored --nocapture (in --release for the real figure)"]
fn three_thousand_structures_across_13_regions_in_each_format() {
    let labels = SectorLabels::shipped(&taxonomy()).expect("labels");
    let started = Instant::now();
    let exports = sample::exports(3_000);
    println!("3 000 structures generated in each format in {:?}", started.elapsed());
    for (name, text) in exports {
        let read = match name {
            "marche.csv" | "marche.json" => read_marche,
            "data_inclusion.csv" | "data_inclusion.json" => read_data_inclusion,
            _ => read_finess,
        };
        let started = Instant::now();
        let report = read(name, text.as_bytes(), &labels);
        let elapsed = started.elapsed();
        assert!(report.errors.is_empty(), "{name}: {:?}", &report.errors[..report.errors.len().min(5)]);
        println!(
            "{name}: {} bytes, {} structures in {} départements read and checked in {:?} ({} unmapped labels)",
            text.len(),
            report.structures.len(),
            report.by_departement().len(),
            elapsed,
            report.unmapped_sectors.values().sum::<usize>()
        );
        assert!(report.structures.len() >= 2_700, "{name}");
    }
}
