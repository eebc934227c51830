//! Building and rendering the consolidated proposal: the example (5 lots) and synthetic bids
//! ([`essaim_core::proposal::example::synthetic`]: N members, each holding a lot on every line; 100 × 20
//! is the 2 000-lot bid). The page (html) includes the map; the map column times it alone. Median of repeated
//! runs, printed as a table. `cargo bench -p essaim-core --bench proposal`.

use std::time::{Duration, Instant};

use chrono::Utc;
use essaim_core::proposal::example::{inputs, synthetic};
use essaim_core::proposal::{html, map, ocds};
use essaim_core::{Campaign, GroupementKind, ImpactSettings, Lang, Proposal, ProposalInput};

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

fn main() {
    println!(
        "{:<28} {:>8} {:>12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "proposal", "lots", "build", "html", "map", "build+html", "ocds", "html KB", "ocds KB"
    );
    let mut cases = vec![("example (4 members, 3 lines)".to_owned(), inputs().expect("example"))];
    for (members, lines) in [(20, 10), (100, 20)] {
        cases.push((format!("synthetic {members} × {lines} lines"), synthetic(members, lines).expect("synthetic")));
    }
    let impact = ImpactSettings::default();
    let options = ocds::OcdsOptions::default();
    for (name, inputs) in &cases {
        let campaign =
            Campaign::replay(inputs.tender.reference.clone(), &inputs.events).expect("replays").expect("launched");
        let build = || {
            Proposal::build(&ProposalInput {
                tender: &inputs.tender,
                groupement: Some(&inputs.groupement),
                suppliers: &inputs.suppliers,
                campaign: &campaign,
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
        let (t_map, _) = time(runs, || map::svg(&proposal, Lang::Fr));
        // What `essaim proposal REF --format html` spends past reading the store.
        let (t_both, _) = time(runs, || html::render(&build()));
        let (t_ocds, package) =
            time(runs, || serde_json::to_string(&ocds::release_package(&proposal, &options)).expect("json"));
        println!(
            "{:<28} {:>8} {:>12.2?} {:>12.2?} {:>12.2?} {:>12.2?} {:>12.2?} {:>10} {:>10}",
            name,
            proposal.totals.lots,
            t_build,
            t_html,
            t_map,
            t_both,
            t_ocds,
            page.len() / 1024,
            package.len() / 1024
        );
    }
}
