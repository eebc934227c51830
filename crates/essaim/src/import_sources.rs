//! `essaim import marche|data-inclusion|finess`: the exports networks already have, read by `essaim-import`
//! (docs/import.md), checked in full before anything is written, then saved in one transaction.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Result;
use essaim_import::{ImportReport, SectorLabels};
use essaim_store::Store;

use crate::config::Config;

/// The sources `essaim import` reads besides its own CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Marche,
    DataInclusion,
    Finess,
}

/// Options shared by the importers of exports.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceOptions {
    /// The export to read.
    pub file: std::path::PathBuf,
    /// Print the report (counts by kind and département, unmapped sectors, warnings, rejected rows) and
    /// write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even if some are rejected (they are still listed).
    #[arg(long)]
    pub skip_invalid: bool,
    /// The table of activity labels → sectors to use instead of the shipped config/sector-labels.csv.
    #[arg(long, value_name = "FILE")]
    pub sector_labels: Option<std::path::PathBuf>,
}

/// Reads an export into a report (nothing written).
pub fn read(source: Source, name: &str, bytes: &[u8], labels: &SectorLabels) -> ImportReport {
    match source {
        Source::Marche => essaim_import::read_marche(name, bytes, labels),
        Source::DataInclusion => essaim_import::read_data_inclusion(name, bytes, labels),
        Source::Finess => essaim_import::read_finess(name, bytes, labels),
    }
}

/// The sector label table: the given file, else the shipped one; checked against the configured sectors.
pub fn labels(path: Option<&Path>, config: &Config) -> Result<SectorLabels> {
    let taxonomy = config.taxonomy()?;
    let (name, text) = match path {
        Some(p) => {
            let bytes = std::fs::read(p).map_err(|e| bad_input!("{}: cannot read: {e}", p.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| bad_input!("{}: not UTF-8 text", p.display()))?;
            (p.display().to_string(), text)
        }
        None => ("config/sector-labels.csv".to_owned(), essaim_import::SHIPPED_SECTOR_LABELS.to_owned()),
    };
    SectorLabels::parse(&name, &text, &taxonomy).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        bad_input!("{}", lines.join("\n"))
    })
}

/// What an import wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Saved {
    pub inserted: usize,
    pub updated: usize,
}

/// Saves the report's structures, all or nothing: refused when a row was rejected (unless `skip_invalid`). A
/// structure already in the directory keeps what the export cannot know (its capacities, prices, distance,
/// smallest lot, insertion rate, and contacts the export leaves empty); the rest is updated from the export.
pub async fn save(store: &Store, report: &ImportReport, skip_invalid: bool) -> Result<Saved> {
    if !report.errors.is_empty() && !skip_invalid {
        return Err(bad_input!(
            "{}: {} row(s) rejected, nothing imported (fix them, or pass --skip-invalid to import the {} valid \
             structure(s))",
            report.file,
            report.errors.len(),
            report.structures.len()
        ));
    }
    let known: HashMap<_, _> = store.suppliers().await?.into_iter().map(|s| (s.siret.clone(), s)).collect();
    // Each structure with the sectors its source listed: a new one starts with its capacity unknown, and the
    // bot asks it for those sectors when it links its account (docs/import.md).
    let structures: Vec<_> = report
        .structures
        .iter()
        .map(|structure| {
            let mut s = structure.supplier.clone();
            if let Some(before) = known.get(&s.siret) {
                s.capacities = before.capacities.clone();
                s.prices = before.prices.clone();
                s.max_distance_km = before.max_distance_km;
                s.min_lot = before.min_lot;
                s.insertion_rate = before.insertion_rate;
                s.contact.name = s.contact.name.or_else(|| before.contact.name.clone());
                s.contact.email = s.contact.email.or_else(|| before.contact.email.clone());
                s.contact.phone = s.contact.phone.or_else(|| before.contact.phone.clone());
            }
            (s, structure.sectors.clone())
        })
        .collect();
    let summary = store.import_structures(&structures).await?;
    Ok(Saved { inserted: summary.inserted, updated: summary.updated })
}

/// `essaim import SOURCE FILE [--dry-run] [--skip-invalid] [--sector-labels FILE]`.
pub async fn run(
    source: Source,
    options: &SourceOptions,
    config: &Config,
    open: impl AsyncFnOnce() -> Result<Store>,
) -> Result<()> {
    let labels = labels(options.sector_labels.as_deref(), config)?;
    let path = &options.file;
    let bytes = std::fs::read(path).map_err(|e| bad_input!("{}: cannot read: {e}", path.display()))?;
    let report = read(source, &path.display().to_string(), &bytes, &labels);
    print!("{}", report.render());
    if options.dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }
    let store = open().await?;
    let saved = save(&store, &report, options.skip_invalid).await?;
    println!(
        "{}: {} structure(s) imported ({} new, {} updated), capacity unknown for the new ones{}",
        report.file,
        saved.inserted + saved.updated,
        saved.inserted,
        saved.updated,
        if report.errors.is_empty() { String::new() } else { format!(", {} row(s) skipped", report.errors.len()) }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use essaim_core::{Sector, Siret};

    const MARCHE: &[u8] = include_bytes!("../../essaim-import/tests/fixtures/marche.csv");

    fn report() -> ImportReport {
        let config = Config::load(None).expect("the default configuration");
        read(Source::Marche, "marche.csv", MARCHE, &labels(None, &config).expect("shipped labels"))
    }

    /// A file with a rejected row writes nothing; with --skip-invalid, the valid rows, with no capacity.
    #[tokio::test]
    async fn an_export_with_a_rejected_row_imports_nothing_unless_told_to_skip() {
        essaim_store::testing::with_each_backend(|store| async move {
            let report = report();
            let error = save(&store, &report, false).await.expect_err("3 rows are rejected");
            assert_eq!(
                error.to_string(),
                "marche.csv: 3 row(s) rejected, nothing imported (fix them, or pass --skip-invalid to import the 5 \
                 valid structure(s))"
            );
            assert!(store.suppliers().await?.is_empty(), "nothing written");
            let saved = save(&store, &report, true).await.expect("the valid rows");
            assert_eq!(saved, Saved { inserted: 5, updated: 0 });
            let forez = store.supplier(&Siret::parse("40212345600012")?).await?.expect("imported");
            assert!(forez.capacities.is_empty(), "no capacity row");
            let unknown = store.unknown_capacity(&forez.siret).await?.expect("its capacity is unknown, not zero");
            assert!(!unknown.sectors.is_empty(), "the sectors its source listed are kept: {unknown:?}");
            assert_eq!(forez.commune.as_deref(), Some("42218"));
            Ok::<_, anyhow::Error>(())
        })
        .await;
    }

    /// « 3 000 structures across 13 regions in each format load in seconds »: read, checked and saved in one
    /// transaction, on each database. A measure: `cargo test --release -p essaim --lib import_sources -- --ignored
    /// --nocapture` (with ESSAIM_TEST_POSTGRES_URL for PostgreSQL).
    #[tokio::test]
    #[ignore = "a measure, not a test: run with --ignored --nocapture"]
    async fn three_thousand_structures_in_each_format_load_in_seconds() {
        essaim_store::testing::with_each_backend(|store| async move {
            let config = Config::load(None).expect("the default configuration");
            let labels = labels(None, &config).expect("shipped labels");
            for (name, text) in essaim_import::sample::exports(3_000) {
                let source = match name {
                    "marche.csv" | "marche.json" => Source::Marche,
                    "data_inclusion.csv" | "data_inclusion.json" => Source::DataInclusion,
                    _ => Source::Finess,
                };
                let started = std::time::Instant::now();
                let report = read(source, name, text.as_bytes(), &labels);
                let read_in = started.elapsed();
                let saved = save(&store, &report, false).await.expect("no rejected row");
                println!(
                    "[{}] {name}: {} structures read in {read_in:?}, saved in {:?} ({} new, {} updated)",
                    store.backend(),
                    report.structures.len(),
                    started.elapsed() - read_in,
                    saved.inserted,
                    saved.updated
                );
            }
            Ok::<_, anyhow::Error>(())
        })
        .await;
    }

    /// Importing the export again does not wipe what the structure said since (its capacities).
    #[tokio::test]
    async fn a_structure_already_known_keeps_its_capacities() {
        essaim_store::testing::with_each_backend(|store| async move {
            let report = report();
            let mut known = report.structures[0].supplier.clone();
            known.name = "Ancien nom".into();
            known.capacities.insert(Sector::parse("s", "nettoyage")?, 120.0);
            known.min_lot = 10.0;
            store.import_directory(&[known.clone()], &[]).await?;
            let saved = save(&store, &report, true).await.expect("imported");
            assert_eq!(saved, Saved { inserted: 4, updated: 1 });
            let after = store.supplier(&known.siret).await?.expect("still there");
            assert_eq!(after.name, "Atelier des Pentes", "updated from the export");
            assert_eq!(after.capacities, known.capacities, "kept");
            assert_eq!(after.min_lot, 10.0, "kept");
            Ok::<_, anyhow::Error>(())
        })
        .await;
    }
}
