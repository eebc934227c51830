//! Building and rendering the consolidated proposal: the example (5 lots) and a large synthetic bid
//! (one groupement of N members, every member holding a lot on each of 20 lines). Median of repeated
//! runs, printed as a table. `cargo bench -p essaim-core --bench proposal`.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use essaim_core::proposal::example::inputs;
use essaim_core::proposal::{html, ocds};
use essaim_core::{
    Actor, Answer, Campaign, CampaignEvent, GeoPoint, GroupementKind, ImpactSettings, Lang, Proposal, ProposalInput,
    Sector, Siret, Supplier, SupplierKind, Tender, TenderLine, TenderRef,
};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut samples = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(std::hint::black_box(f()));
        samples.push(start.elapsed());
    }
    (median(samples), last.expect("at least one run"))
}

/// A valid SIRET from a 13-digit prefix (Luhn check digit appended).
fn siret(n: usize) -> Siret {
    let body = format!("{:013}", 100_000_000_000 + n as u64 * 7);
    for check in 0..10 {
        if let Ok(s) = Siret::parse(&format!("{body}{check}")) {
            return s;
        }
    }
    unreachable!("one check digit fits")
}

fn synthetic(members: usize, lines: usize) -> (Tender, Vec<Supplier>, Campaign) {
    let sector = Sector::parse("sector", "nettoyage").expect("sector");
    let site = GeoPoint::new(45.76, 4.85).expect("site");
    let tender_lines: Vec<TenderLine> = (0..lines)
        .map(|l| {
            TenderLine::new(
                "line",
                &format!("L{l}"),
                sector.clone(),
                10.0 * members as f64,
                "h",
                site,
                None,
                Some(27.5),
            )
            .expect("line")
        })
        .collect();
    let reference = TenderRef::parse("ref", "T-BENCH").expect("ref");
    let tender =
        Tender::new(reference.clone(), "Bench", essaim_core::Buyer::named("Acheteur", None), None, None, tender_lines)
            .expect("tender");
    let suppliers: Vec<Supplier> = (0..members)
        .map(|i| {
            let at = GeoPoint::new(45.5 + (i % 50) as f64 * 0.01, 4.6 + (i / 50) as f64 * 0.01).expect("point");
            let kind = SupplierKind::ALL[i % SupplierKind::ALL.len()];
            let capacities = [(sector.clone(), 10.0 * lines as f64)].into_iter().collect();
            Supplier::new(siret(i), &format!("Structure {i}"), kind, at, 100.0, 1.0, capacities, None)
                .expect("supplier")
        })
        .collect();
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("date");
    let actor = Actor { channel: "telegram".into(), user_id: "1".into(), chat_id: None, name: None };
    let mut events = vec![Campaign::launch(actor.clone(), at, at + chrono::Duration::days(7))];
    let c = Campaign::replay(reference.clone(), &events).expect("replays").expect("launched");
    let lots: Vec<(String, String, f64, f64)> = (0..lines)
        .flat_map(|l| {
            suppliers
                .iter()
                .map(move |s| (format!("L{l}"), s.siret.to_string(), 10.0, essaim_core::haversine_km(s.location, site)))
        })
        .collect();
    events.push(c.offers_made(&lots, vec![], |_| 1.0, at, at + chrono::Duration::days(2)));
    let mut campaign = Campaign::replay(reference, &events).expect("replays").expect("launched");
    let offers: Vec<(u32, String)> = campaign.offers.values().map(|o| (o.terms.id, o.terms.supplier.clone())).collect();
    for (id, supplier) in offers {
        let event: CampaignEvent = campaign.answer(id, &supplier, Answer::Accept, actor.clone(), at).expect("accepted");
        campaign.apply(&event).expect("applies");
    }
    (tender, suppliers, campaign)
}

fn main() {
    println!(
        "{:<28} {:>8} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "proposal", "lots", "build", "html", "ocds", "html KB", "ocds KB"
    );
    let example = inputs().expect("example");
    let example_campaign =
        Campaign::replay(example.tender.reference.clone(), &example.events).expect("replays").expect("launched");
    let mut cases =
        vec![("example (4 members, 3 lines)".to_owned(), example.tender, example.suppliers, example_campaign)];
    for (members, lines) in [(20, 10), (100, 20)] {
        let (tender, suppliers, campaign) = synthetic(members, lines);
        cases.push((format!("synthetic {members} × {lines} lines"), tender, suppliers, campaign));
    }
    let impact = ImpactSettings::default();
    let options = ocds::OcdsOptions::default();
    for (name, tender, suppliers, campaign) in &cases {
        let build = || {
            Proposal::build(&ProposalInput {
                tender,
                groupement: None,
                suppliers,
                campaign,
                impact: &impact,
                bid: &essaim_core::proposal::BidSettings::default(),
                groupement_kind: GroupementKind::Conjoint,
                generated_at: Utc::now(),
                lang: Lang::Fr,
            })
            .expect("builds")
        };
        let runs = 21;
        let (t_build, proposal) = time(runs, build);
        let (t_html, page) = time(runs, || html::render(&proposal));
        let (t_ocds, package) =
            time(runs, || serde_json::to_string(&ocds::release_package(&proposal, &options)).expect("json"));
        println!(
            "{:<28} {:>8} {:>12.2?} {:>12.2?} {:>12.2?} {:>10} {:>10}",
            name,
            proposal.totals.lots,
            t_build,
            t_html,
            t_ocds,
            page.len() / 1024,
            package.len() / 1024
        );
    }
}
