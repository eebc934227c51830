//! `essaim demo`: the whole job on the shipped sample territory, offline, in a fresh SQLite database.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use essaim_core::{ImpactFigures, Lang, LotForImpact, ShortfallCause, Supplier, Tender};
use essaim_solver::{AllocationResult, Status};

use crate::cli::{Global, open_store};
use crate::config::Config;
use crate::import;
use crate::render::{Align, Style, number, table, truncate};

const SAMPLE_SUPPLIERS: &[u8] = include_bytes!("../../../data/suppliers.csv");
const SAMPLE_TENDER: &str = include_str!("../../../data/tender.json");

pub async fn run(global: &Global, config: &Config, no_color: bool) -> Result<()> {
    let style = Style { color: !no_color && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() };
    let mut global = global.clone();
    if global.database_url.is_none() && global.data_dir.is_none() {
        // A fresh directory each run: the demo never touches a real database unless asked to.
        let stamp =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        global.data_dir = Some(std::env::temp_dir().join(format!("essaim-demo-{stamp}-{}", std::process::id())));
    }
    let url = crate::cli::database_url(&global, config)?;
    let store = open_store(&global, config).await?;
    let taxonomy = config.taxonomy()?;

    let directory = import::read_directory("data/suppliers.csv", SAMPLE_SUPPLIERS, &taxonomy);
    if let Some(error) = directory.errors.first() {
        return Err(bad_input!("the shipped sample is broken: {error}"));
    }
    store.import_directory(&directory.suppliers, &directory.groupements).await?;
    let tender = import::read_tender("data/tender.json", SAMPLE_TENDER, &taxonomy)
        .map_err(|m| bad_input!("the shipped sample is broken: {m}"))?;
    store.replace_tender(&tender).await?;

    let (_, result, suppliers) = crate::allocation::allocate_tender(&store, &tender, config).await?;
    let by_siret: HashMap<String, &Supplier> = suppliers.iter().map(|s| (s.siret.to_string(), s)).collect();

    println!();
    println!("{}", style.bold("essaim · démonstration hors ligne"));
    println!("{}", style.dim(&format!("Base de données : {url} ({})", store.backend())));
    let groupement = directory.groupements.first();
    if let Some(g) = groupement {
        let lead = by_siret.get(g.lead.as_str()).map(|s| s.name.as_str()).unwrap_or(g.lead.as_str());
        println!(
            "Annuaire : {} structures inclusives autour de Lyon · groupement {} : {} membres, mandataire {}",
            directory.suppliers.len(),
            style.bold(g.code.as_str()),
            g.members.len(),
            style.bold(lead)
        );
    }
    print_tender(&tender, &style);
    print_allocation(&tender, &result, &by_siret, config, &style);
    print_suppliers(&tender, &result, &by_siret, &style);
    print_impact(&tender, &result, &by_siret, config, &style);
    // One structure with a lot has no phone linked: it is reached at its directory address and answers
    // from the mail's links (it declines, with a reason). Not the lead (it signs the bid), one with a
    // single lot, on a line the others can still cover.
    let lead = groupement.map(|g| g.lead.as_str());
    let short: Vec<&str> = result.shortfall.iter().map(|s| s.line.as_str()).collect();
    let by_mail = result
        .lots
        .iter()
        .filter(|l| !short.contains(&l.line.as_str()))
        .map(|l| l.supplier.as_str())
        .filter(|s| Some(*s) != lead && result.lots.iter().filter(|l| l.supplier == *s).count() == 1)
        .find(|s| by_siret.get(*s).is_some_and(|x| x.contact.email.is_some()));
    let ended = crate::demo_campaign::play(&store, config, &tender, by_mail, &style).await?;
    let dir: PathBuf = global.data_dir.clone().unwrap_or_default();

    // The grouped bid, as the buyer receives it: HTML, and JSON, OCDS and the répartition as a workbook
    // beside it.
    let proposal =
        crate::cli::build_proposal(&store, config, tender.reference.as_str(), essaim_core::Lang::Fr, ended).await?;
    let ocds = config.proposal_settings()?.ocds;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    use essaim_api::ProposalFormat::{Html, Json, Ocds, Xlsx};
    for format in [Html, Json, Ocds, Xlsx] {
        let path = dir.join(essaim_api::proposal_file_name(tender.reference.as_str(), format));
        let (_, body) = essaim_api::render_proposal(&proposal, format, &ocds)?;
        std::fs::write(&path, body).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    println!();
    println!("{}", style.bold("Proposition du groupement pour l'acheteur"));
    println!("  {}", written[0].display());
    println!("  {}", style.dim(&format!("JSON : {} · OCDS : {}", written[1].display(), written[2].display())));
    println!("  {}", style.dim(&format!("Tableur de la répartition : {}", written[3].display())));
    println!();
    println!(
        "{}",
        style.dim(&format!(
            "Les données de la démonstration restent dans {} — `essaim --data-dir {} …` pour y revenir.",
            dir.display(),
            dir.display()
        ))
    );
    store.close().await;
    Ok(())
}

fn print_tender(tender: &Tender, style: &Style) {
    let total: f64 = tender.lines.iter().map(|l| l.quantity).sum();
    println!();
    println!("{}", style.bold(&format!("Appel d'offres {}", tender.reference)));
    println!("  {}", tender.title);
    let deadline =
        tender.deadline.map(|d| d.format(" · réponse avant le %d/%m/%Y à %H:%M").to_string()).unwrap_or_default();
    println!(
        "  Acheteur : {}{deadline} · {} lignes · {} h au total",
        tender.buyer.name,
        tender.lines.len(),
        number(total, 0)
    );
}

fn status_text(result: &AllocationResult) -> String {
    match result.status {
        Status::Optimal => format!(
            "optimale (prouvée) en {} ms · {} variables, {} sous-problèmes",
            number(result.stats.solve_ms, 0),
            number(result.stats.variables as f64, 0),
            result.stats.components
        ),
        Status::Feasible => format!(
            "meilleure trouvée dans le temps imparti (écart {} %) en {} ms",
            number(result.gap.unwrap_or(0.0) * 100.0, 1),
            number(result.stats.solve_ms, 0)
        ),
    }
}

fn print_allocation(
    tender: &Tender,
    result: &AllocationResult,
    by_siret: &HashMap<String, &Supplier>,
    config: &Config,
    style: &Style,
) {
    let name = |id: &str| by_siret.get(id).map(|s| s.name.clone()).unwrap_or_else(|| id.to_owned());
    let taxonomy = config.taxonomy().ok();
    println!();
    println!("{}  {}", style.bold("Répartition en micro-lots"), style.dim(&status_text(result)));
    for line in &tender.lines {
        let label = taxonomy
            .as_ref()
            .and_then(|t| t.get(&line.sector).map(|s| s.label_fr.clone()))
            .unwrap_or_else(|| line.sector.to_string());
        let share = if line.max_share < 1.0 {
            format!(" · ≤ {} % par structure", number(line.max_share * 100.0, 0))
        } else {
            String::new()
        };
        println!();
        println!(
            "  {} {}",
            style.cyan(&style.bold(&line.id)),
            style.bold(line.title.as_deref().unwrap_or(label.as_str()))
        );
        println!("     {}", style.dim(&format!("{label} · {} {}{share}", number(line.quantity, 0), line.unit)));
        for rule in line_rules(line) {
            println!("     {}", style.dim(&rule));
        }
        let mut lots: Vec<_> = result.lots.iter().filter(|lot| lot.line == line.id).collect();
        lots.sort_by(|a, b| b.quantity.total_cmp(&a.quantity));
        let rows: Vec<Vec<String>> = lots
            .into_iter()
            .map(|lot| {
                let supplier = by_siret.get(lot.supplier.as_str());
                vec![
                    truncate(&name(&lot.supplier), 40),
                    supplier.map(|s| s.kind.to_string()).unwrap_or_default(),
                    format!("{} {}", number(lot.quantity, 0), line.unit),
                    format!("{} %", number(lot.quantity / line.quantity * 100.0, 0)),
                    format!("{} km", number(lot.distance_km, 1)),
                ]
            })
            .collect();
        if !rows.is_empty() {
            print!(
                "{}",
                table(
                    &["Structure", "Type", "Volume", "Part", "Distance"],
                    &[Align::Left, Align::Left, Align::Right, Align::Right, Align::Right],
                    &rows,
                    *style,
                    5
                )
            );
        }
        match result.shortfall.iter().find(|s| s.line == line.id) {
            None => println!("     {}", style.green("✓ couverte à 100 %")),
            Some(short) => {
                let covered = line.quantity - short.quantity;
                println!(
                    "     {}",
                    style.red(&format!(
                        "✗ couverte à {} % — {} {} non couvertes",
                        number(covered / line.quantity * 100.0, 0),
                        number(short.quantity, 0),
                        line.unit
                    ))
                );
                let why = ShortfallCause::render_all(&short.causes, Lang::Fr, &name);
                println!("       {}", style.yellow(&format!("pourquoi : {why}")));
            }
        }
        if let Some(target) = line.insertion_hours_min {
            let rates = &config.impact_settings().insertion_rate;
            let rate = |s: &Supplier| s.insertion_rate.or_else(|| rates.get(&s.kind).copied()).unwrap_or(0.0);
            let reached: f64 = result
                .lots
                .iter()
                .filter(|lot| lot.line == line.id)
                .map(|lot| lot.quantity * by_siret.get(lot.supplier.as_str()).map_or(0.0, |s| rate(s)))
                .sum();
            let text = format!(
                "clause d'insertion : {} h visées, {} h projetées (heures × taux d'insertion de chaque structure)",
                number(target, 0),
                number(reached, 0)
            );
            match result.clause_shortfall.iter().find(|c| c.line == line.id) {
                None => println!("     {}", style.green(&format!("✓ {text}"))),
                Some(c) => println!(
                    "     {}",
                    style.yellow(&format!(
                        "✗ {text} — {} h manquantes : {}",
                        number(c.hours, 0),
                        c.cause.render(Lang::Fr)
                    ))
                ),
            }
        }
    }
}

/// What the buyer asked of a line beyond quantity: its reservation, the modes it accepts.
fn line_rules(line: &essaim_core::TenderLine) -> Vec<String> {
    let mut rules = Vec::new();
    if let Some(r) = line.reserved {
        rules.push(format!("lot {}", r.label(Lang::Fr)));
    }
    let modes: Vec<&str> = line.participation.iter().map(|m| m.label(Lang::Fr)).collect();
    rules.push(format!("participation : {}", modes.join(" ou ")));
    if let Some(cpv) = &line.cpv {
        rules.push(format!("CPV {cpv}"));
    }
    rules
}

fn print_suppliers(tender: &Tender, result: &AllocationResult, by_siret: &HashMap<String, &Supplier>, style: &Style) {
    let mut per: BTreeMap<&str, (usize, f64, f64)> = BTreeMap::new();
    let total: f64 = result.lots.iter().map(|l| l.quantity).sum();
    for lot in &result.lots {
        let e = per.entry(lot.supplier.as_str()).or_default();
        e.0 += 1;
        e.1 += lot.quantity;
        e.2 += lot.quantity * lot.distance_km;
    }
    let mut rows: Vec<(f64, Vec<String>)> = per
        .iter()
        .map(|(siret, (lots, units, unit_km))| {
            let s = by_siret.get(*siret);
            (
                *units,
                vec![
                    truncate(s.map(|s| s.name.as_str()).unwrap_or(siret), 40),
                    s.map(|s| s.kind.to_string()).unwrap_or_default(),
                    siret.to_string(),
                    lots.to_string(),
                    format!("{} h", number(*units, 0)),
                    format!("{} %", number(units / total.max(1e-9) * 100.0, 1)),
                    format!("{} km", number(unit_km / units.max(1e-9), 1)),
                ],
            )
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!();
    println!(
        "{}  {}",
        style.bold("Par structure"),
        style.dim(&format!("{} structures mobilisées pour {}", per.len(), tender.reference))
    );
    print!(
        "{}",
        table(
            &["Structure", "Type", "SIRET", "Lots", "Volume", "Part", "Dist. moy."],
            &[Align::Left, Align::Left, Align::Left, Align::Right, Align::Right, Align::Right, Align::Right],
            &rows.into_iter().map(|r| r.1).collect::<Vec<_>>(),
            *style,
            2
        )
    );
}

fn print_impact(
    tender: &Tender,
    result: &AllocationResult,
    by_siret: &HashMap<String, &Supplier>,
    config: &Config,
    style: &Style,
) {
    let settings = config.impact_settings();
    let lots = result.lots.iter().filter_map(|lot| {
        let supplier = by_siret.get(lot.supplier.as_str())?;
        let line = tender.line(&lot.line)?;
        Some(LotForImpact {
            supplier: lot.supplier.as_str(),
            kind: supplier.kind,
            insertion_rate: supplier.insertion_rate,
            quantity: lot.quantity,
            unit: line.unit.as_str(),
            distance_km: lot.distance_km,
        })
    });
    let f = ImpactFigures::compute(lots, &settings);
    let demanded: f64 = tender.lines.iter().map(|l| l.quantity).sum();
    let uncovered: f64 = result.shortfall.iter().map(|s| s.quantity).sum();
    let mut rows: Vec<Vec<String>> = vec![
        vec![
            "Couverture".into(),
            format!("{} %", number((demanded - uncovered) / demanded.max(1e-9) * 100.0, 1)),
            format!("{} h attribuées sur {} h demandées", number(f.total_hours, 0), number(demanded, 0)),
        ],
        vec![
            "Heures d'insertion (SIAE)".into(),
            format!("{} h", number(f.insertion_hours, 0)),
            "heures des SIAE (EI, ETTI, AI, ACI, EITI) × taux d'insertion (défaut par type)".into(),
        ],
    ];
    // A GEIQ is not an SIAE: its hours are counted apart, and so are those worked by disabled people.
    if f.geiq_structures > 0 {
        rows.push(vec![
            "Heures GEIQ".into(),
            format!("{} h", number(f.geiq_hours, 0)),
            "heures des GEIQ × part des salariés en parcours (comptées à part)".into(),
        ]);
    }
    if f.disability_structures > 0 {
        rows.push(vec![
            "Heures de travail de personnes handicapées".into(),
            format!("{} h", number(f.disability_hours, 0)),
            "heures des ESAT, EA, EATT, TIH × part de travailleurs handicapés".into(),
        ]);
    }
    rows.extend([
        vec![
            "ETP".into(),
            format!("{} ({} en insertion)", number(f.etp, 2), number(f.insertion_etp, 2)),
            format!("heures / {} h ; insertion : SIAE seulement", number(settings.hours_per_etp, 0)),
        ],
        vec![
            "Structures".into(),
            f.structures_display(Lang::Fr),
            "achats auprès des ESAT, EA, EATT, TIH : déductibles de la contribution OETH de l'acheteur".into(),
        ],
        vec![
            "Part locale".into(),
            format!("{} %", number(f.local_share * 100.0, 1)),
            format!("volume réalisé à moins de {} km du site", number(settings.local_radius_km, 0)),
        ],
        vec![
            "Distance moyenne".into(),
            format!("{} km", number(f.average_distance_km, 1)),
            "moyenne pondérée par le volume".into(),
        ],
        vec![
            "Kilomètres".into(),
            format!("{} km", number(f.km_travelled, 0)),
            format!("aller-retour × un trajet par {} h sur site", number(settings.hours_per_trip, 0)),
        ],
        vec![
            "CO₂ estimé".into(),
            format!("{} t", number(f.co2_kg / 1000.0, 2)),
            format!("km × {} kg CO₂/km (utilitaire léger)", number(settings.co2_kg_per_km, 2)),
        ],
    ]);
    println!();
    println!("{}", style.bold("Impact social et territorial"));
    print!(
        "{}",
        table(&["Indicateur", "Valeur", "Calcul"], &[Align::Left, Align::Right, Align::Left], &rows, *style, 2)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bid `essaim demo` writes, played on a fresh database, without its timestamps.
    async fn bid_of_a_fresh_run() -> serde_json::Value {
        let dir = tempfile::tempdir().expect("temporary directory");
        let global = Global { database_url: None, data_dir: Some(dir.path().to_owned()), config: None };
        let config = Config::load_with_env(None, std::iter::empty()).expect("default configuration");
        run(&global, &config, true).await.expect("the demo runs");
        let path = dir.path().join(essaim_api::proposal_file_name("T-2026-014", essaim_api::ProposalFormat::Json));
        let mut bid: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("the demo writes its bid")).expect("JSON");
        drop_timestamps(&mut bid);
        bid
    }

    fn drop_timestamps(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|key, _| !key.ends_with("_at") && key != "valid_until");
                map.values_mut().for_each(drop_timestamps);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(drop_timestamps),
            _ => {}
        }
    }

    /// The simulated structures answer by structure and line, not in the order the dispatcher's concurrent
    /// sends happen to reach their phones: every run ends with the same bid (it was one of three).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_run_of_the_demo_ends_with_the_same_bid() {
        let first = bid_of_a_fresh_run().await;
        assert!(first["lines"].as_array().is_some_and(|l| !l.is_empty()), "{first}");
        for run in 2..=5 {
            let again = bid_of_a_fresh_run().await;
            assert!(again == first, "run {run} ended with another bid:\n{again:#}\nthan the first:\n{first:#}");
        }
    }
}
