//! The procurement rules in campaigns, as facilitators and structures see them, on every backend: two
//! tenders never book the same hours, a decline next to a member with room is covered by a top-up, a
//! reserved line never goes to an ineligible kind, the clause hours shown match the lots, a new round
//! covers what a fresh solve of the residual problem covers, and a shortfall is filled with a structure
//! from outside the groupement.

mod common;

use chrono::NaiveDate;
use essaim_core::{
    Buyer, Capacities, GeoPoint, Groupement, GroupementCode, HoldingState, Reservation, Supplier, SupplierKind, Tender,
    TenderLine, TenderRef, Window,
};
use essaim_store::testing::with_each_backend;
use essaim_store::{Store, StoreError};

use common::{Phone, button_data, sector, settings, siret};

const A: &str = "73282932000074";
const B: &str = "12345678900015";
const C: &str = "30000000000004";
const D: &str = "35600000049837";

/// A structure on the meridian 4.85 E, `lat` degrees north, 40 km of reach, min lot 10.
fn structure(s: &str, name: &str, kind: SupplierKind, lat: f64, capacity: f64, rate: Option<f64>) -> Supplier {
    let capacities: Capacities = [(sector("nettoyage"), capacity)].into_iter().collect();
    let at = GeoPoint::new(lat, 4.85).expect("point");
    Supplier::new(siret(s), name, kind, at, 40.0, 10.0, capacities, rate).expect("supplier")
}

fn line(id: &str, quantity: f64, max_share: f64, window: Option<(u32, u32)>) -> TenderLine {
    let site = GeoPoint::new(45.75, 4.85).expect("site");
    let mut line =
        TenderLine::new("l", id, sector("nettoyage"), quantity, "h", site, Some(max_share), None).expect("line");
    line.window = window.map(|(from, to)| Window {
        start: NaiveDate::from_ymd_opt(2027, from, 1).expect("date"),
        end: NaiveDate::from_ymd_opt(2027, to, 28).expect("date"),
    });
    line
}

fn tender(reference: &str, groupement: Option<&str>, lines: Vec<TenderLine>) -> Tender {
    Tender::new(
        TenderRef::parse("ref", reference).expect("ref"),
        &format!("Marché {reference}"),
        Buyer::named("Ville test", None),
        None,
        groupement.map(|g| GroupementCode::parse("g", g).expect("code")),
        lines,
    )
    .expect("tender")
}

fn reference(r: &str) -> TenderRef {
    TenderRef::parse("ref", r).expect("ref")
}

/// Imports `suppliers` (a groupement G of `members` when given), the tenders, and links a facilitator and
/// one phone per structure (user id = its SIRET).
async fn setup(phone: &Phone, suppliers: Vec<Supplier>, members: &[&str], tenders: Vec<Tender>) {
    let store = phone.engine.store();
    let groupements = if members.is_empty() {
        Vec::new()
    } else {
        let code = GroupementCode::parse("g", "G").expect("code");
        vec![Groupement::new(code, "G", siret(members[0]), members.iter().map(|m| siret(m)).collect()).expect("g")]
    };
    store.import_directory(&suppliers, &groupements).await.expect("directory");
    for t in tenders {
        store.insert_tender(&t).await.expect("tender");
    }
    phone.invite("FAC", None).await;
    phone.send("fac", "/start FAC").await;
    for s in &suppliers {
        let code = format!("S{}", s.siret);
        phone.invite(&code, Some(s.siret.as_str())).await;
        phone.send(s.siret.as_str(), &format!("/start {code}")).await;
    }
}

/// The open offers queued to a structure's phone (by SIRET), newest last, as (text, button data).
async fn offers_to(phone: &Phone, s: &str) -> Vec<(String, String, String)> {
    phone
        .to(s)
        .await
        .into_iter()
        .filter(|m| !m.buttons.is_empty())
        .map(|m| (m.text.clone(), button_data(&m, "Accepter"), button_data(&m, "Refuser")))
        .collect()
}

/// Σ quantity a structure holds (offered or accepted) on every tender.
async fn held(store: &Store, s: &str) -> Result<f64, StoreError> {
    Ok(store.holdings_of_supplier(&siret(s)).await?.iter().map(|h| h.quantity).sum())
}

#[tokio::test]
async fn two_concurrent_tenders_never_book_more_than_a_structure_has() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store.clone());
        // A is nearest with 100 h; B farther with 100 h. Each tender wants 80 h over overlapping periods.
        let suppliers = vec![
            structure(A, "Atelier A", SupplierKind::Ei, 45.76, 100.0, None),
            structure(B, "Brigade B", SupplierKind::Ei, 45.85, 100.0, None),
        ];
        let first = tender("T-1", None, vec![line("L1", 80.0, 1.0, Some((1, 6)))]);
        let second = tender("T-2", None, vec![line("L1", 80.0, 1.0, Some((3, 9)))]);
        // A later tender, after both periods: A's hours are free again for it.
        let later = tender("T-3", None, vec![line("L1", 80.0, 1.0, Some((10, 12)))]);
        setup(&phone, suppliers, &[], vec![first, second, later]).await;

        let (one, two) = tokio::join!(phone.send("fac", "/repartir T-1"), phone.send("fac", "/repartir T-2"));
        assert!(!one.duplicate && !two.duplicate);
        for s in [A, B] {
            assert!(held(&store, s).await? <= 100.0 + 1e-6, "{s} is booked beyond its 100 h");
        }
        assert_eq!(held(&store, A).await?, 100.0, "A's hours all go, to one tender or both");
        let covered: f64 = [A, B].iter().map(|_| 0.0).sum::<f64>() + held(&store, A).await? + held(&store, B).await?;
        assert_eq!(covered, 160.0, "both tenders are covered in full between A and B");

        phone.send("fac", "/repartir T-3").await;
        let t3: f64 = store
            .holdings_of_supplier(&siret(A))
            .await?
            .iter()
            .filter(|h| h.tender == reference("T-3"))
            .map(|h| h.quantity)
            .sum();
        assert_eq!(t3, 80.0, "a period that overlaps neither gets A's whole capacity again");

        // A sees its commitments across tenders, and what is free.
        let offer = offers_to(&phone, A).await.into_iter().next().expect("an offer to A");
        phone.press(A, &offer.1).await;
        phone.send(A, "/mes_lots").await;
        let lots = phone.to(A).await.iter().map(|m| m.text.clone()).collect::<Vec<_>>().join("\n");
        assert!(lots.contains("Vos engagements") && lots.contains("du 01/"), "{lots}");
        phone.send(A, "/capacite").await;
        let capacity = phone.last_to(A).await;
        assert!(capacity.contains("Nettoyage : 100 h") && capacity.contains("h libres"), "{capacity}");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_decline_next_to_a_member_with_room_is_covered_by_a_top_up() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store.clone());
        // B is nearest but holds only 40 h; A has 100 h: first round B 40, A 60.
        let suppliers = vec![
            structure(A, "Atelier A", SupplierKind::Ei, 45.78, 100.0, None),
            structure(B, "Brigade B", SupplierKind::Aci, 45.755, 40.0, None),
        ];
        setup(&phone, suppliers, &[A, B], vec![tender("T-1", Some("G"), vec![line("L1", 100.0, 1.0, None)])]).await;
        phone.send("fac", "/repartir T-1").await;
        let to_a = offers_to(&phone, A).await;
        let to_b = offers_to(&phone, B).await;
        assert!(to_a[0].0.contains("60 h") && to_b[0].0.contains("40 h"), "{} / {}", to_a[0].0, to_b[0].0);
        phone.press(A, &to_a[0].1).await;
        phone.press(B, &to_b[0].2).await; // B declines

        // A already holds 60 h of the line and has room: it is offered the 40 h on top.
        let to_a = offers_to(&phone, A).await;
        assert_eq!(to_a.len(), 2, "a second offer to A");
        assert!(to_a[1].0.contains("40 h") && to_a[1].0.contains("En plus des 60 h"), "{}", to_a[1].0);
        phone.press(A, &to_a[1].1).await;
        phone.send("fac", "/etat T-1").await;
        let status = phone.last_to("fac").await;
        assert!(status.contains("✅ 100 acceptées") && status.contains("⚠️ 0 non couvertes"), "{status}");

        // A partial acceptance closes the pair: A said how much it can take.
        let holdings = store.holdings_of_supplier(&siret(A)).await?;
        assert!(holdings.iter().all(|h| h.state == HoldingState::Accepted) && holdings.len() == 2);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_reserved_line_never_goes_to_an_ineligible_kind() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store.clone());
        // The GEIQ and the EI are nearest; the ESAT farther. The line is reserved under L2113-12.
        let suppliers = vec![
            structure(A, "GEIQ A", SupplierKind::Geiq, 45.751, 100.0, None),
            structure(B, "Entreprise B", SupplierKind::Ei, 45.752, 100.0, None),
            structure(C, "ESAT C", SupplierKind::Esat, 45.8, 60.0, None),
            structure(D, "AI D", SupplierKind::Ai, 45.753, 100.0, None),
        ];
        let mut reserved = line("L1", 100.0, 1.0, None);
        reserved.reserved = Some(Reservation::Handicap);
        reserved = reserved
            .with_participation(
                "p",
                &[essaim_core::ParticipationMode::Execution, essaim_core::ParticipationMode::MiseADisposition],
            )
            .expect("modes");
        setup(&phone, suppliers, &[A, B, C, D], vec![tender("T-1", Some("G"), vec![reserved])]).await;
        phone.send("fac", "/repartir T-1").await;
        let launch = phone.last_to("fac").await;
        for s in [A, B, D] {
            assert!(offers_to(&phone, s).await.is_empty(), "{s} is not eligible for a lot reserved to ESAT/EA");
        }
        let to_c = offers_to(&phone, C).await;
        assert!(to_c[0].0.contains("60 h"), "{}", to_c[0].0);
        assert!(launch.contains("L2113-12") && launch.contains("GEIQ A"), "the note says why: {launch}");

        // C declines: nobody else may take it; the reason still names the reservation.
        phone.press(C, &to_c[0].2).await;
        for s in [A, B, D] {
            assert!(offers_to(&phone, s).await.is_empty(), "{s} is still not offered anything");
        }
        phone.send("fac", "/etat T-1").await;
        let status = phone.last_to("fac").await;
        assert!(status.contains("⚠️ 100 non couvertes") && status.contains("L2113-12"), "{status}");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_clause_hours_shown_match_the_lots() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store.clone());
        // 60 clause hours on 100 h: A (rate 0.3) near, B (rate 0.9) farther → 50 h each.
        let suppliers = vec![
            structure(A, "Atelier A", SupplierKind::Ei, 45.76, 100.0, Some(0.3)),
            structure(B, "Chantier B", SupplierKind::Aci, 45.85, 100.0, Some(0.9)),
        ];
        let mut clause = line("L1", 100.0, 1.0, None);
        clause = clause.with_insertion_hours("c", Some(60.0)).expect("clause");
        setup(&phone, suppliers, &[A, B], vec![tender("T-1", Some("G"), vec![clause])]).await;
        phone.send("fac", "/repartir T-1").await;
        let (to_a, to_b) = (offers_to(&phone, A).await, offers_to(&phone, B).await);
        assert!(to_a[0].0.contains("50 h") && to_b[0].0.contains("50 h"), "{} / {}", to_a[0].0, to_b[0].0);
        phone.send("fac", "/etat T-1").await;
        let status = phone.last_to("fac").await;
        // 50 × 0.3 + 50 × 0.9 = 60
        assert!(status.contains("✓ Clause d'insertion : 60 h visées, 60 h apportées"), "{status}");

        // B declines: A takes the rest, and the status shows the clause now missed.
        phone.press(B, &to_b[0].2).await;
        phone.send("fac", "/etat T-1").await;
        let status = phone.last_to("fac").await;
        assert!(status.contains("⚠️ Clause d'insertion : 60 h visées, 30 h apportées"), "{status}");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn after_every_decline_the_new_round_covers_what_a_fresh_solve_of_the_residual_problem_covers() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store.clone());
        let suppliers = vec![
            structure(A, "Atelier A", SupplierKind::Ei, 45.76, 120.0, None),
            structure(B, "Brigade B", SupplierKind::Aci, 45.77, 90.0, None),
            structure(C, "ESAT C", SupplierKind::Esat, 45.80, 150.0, None),
            structure(D, "EA D", SupplierKind::Ea, 45.83, 70.0, None),
        ];
        let lines = vec![line("L1", 150.0, 0.5, None), line("L2", 120.0, 0.6, None), line("L3", 90.0, 1.0, None)];
        setup(&phone, suppliers, &[A, B, C, D], vec![tender("T-1", Some("G"), lines)]).await;
        phone.send("fac", "/repartir T-1").await;
        let settings = settings();
        for round in 0..6 {
            // Decline the oldest open offer, whoever holds it.
            let loaded = essaim_chat::campaigns::load(&store, &reference("T-1")).await.expect("load").expect("tender");
            let campaign = loaded.campaign.clone().expect("campaign");
            let Some(open) = campaign.open_offers().next().cloned() else { break };
            let data = format!("no:{}:T-1", open.terms.id);
            phone.press(&open.terms.supplier, &data).await;

            let loaded = essaim_chat::campaigns::load(&store, &reference("T-1")).await.expect("load").expect("tender");
            let campaign = loaded.campaign.clone().expect("campaign");
            let context = store.capacity_context(&reference("T-1")).await?;
            let input = essaim_chat::campaigns::allocation_input(
                &loaded.tender,
                &loaded.suppliers,
                &residual(&campaign),
                &context.holdings,
                &settings,
                chrono::Utc::now(),
            );
            let fresh = essaim_solver::allocate(&input, &settings.solve).expect("solves");
            assert_eq!(fresh.status, essaim_solver::Status::Optimal);
            let lines: Vec<(String, f64)> = loaded.tender.lines.iter().map(|l| (l.id.clone(), l.quantity)).collect();
            for c in campaign.coverage(&lines) {
                let solved: f64 = fresh.lots.iter().filter(|l| l.line == c.line).map(|l| l.quantity).sum();
                assert!(
                    (solved - (c.accepted + c.pending)).abs() < 1e-6,
                    "round {round}, {}: the campaign holds {} but the residual problem covers {solved}",
                    c.line,
                    c.accepted + c.pending
                );
            }
        }
        Ok::<_, StoreError>(())
    })
    .await;
}

/// The residual problem as the issue states it, written from the offers without the campaign's own
/// reading: accepted and pending quantities are kept (and may be topped up); a pair that declined, let an
/// offer expire or accepted only part of one is closed.
fn residual(campaign: &essaim_core::Campaign) -> essaim_core::ReallocationBasis {
    use essaim_core::OfferState;
    let mut basis = essaim_core::ReallocationBasis::default();
    for o in campaign.offers.values() {
        let pair = (o.terms.line.clone(), o.terms.supplier.clone());
        match &o.state {
            OfferState::Open => *basis.fixed.entry(pair).or_default() += o.terms.quantity,
            OfferState::Accepted { quantity, .. } => {
                *basis.fixed.entry(pair.clone()).or_default() += quantity;
                if *quantity < o.terms.quantity {
                    basis.excluded.insert(pair);
                }
            }
            _ => {
                basis.excluded.insert(pair);
            }
        }
    }
    basis
}

#[tokio::test]
async fn a_shortfall_is_filled_with_a_structure_from_outside_the_groupement() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store.clone());
        // The groupement (A, B) can do 100 h of 200; C, outside it and 1 km away, has 150 h free.
        let suppliers = vec![
            structure(A, "Atelier A", SupplierKind::Ei, 45.76, 60.0, None),
            structure(B, "Brigade B", SupplierKind::Ei, 45.77, 40.0, None),
            structure(C, "Chantier C", SupplierKind::Aci, 45.759, 150.0, None),
            structure(D, "GEIQ D", SupplierKind::Geiq, 45.751, 300.0, None),
        ];
        setup(&phone, suppliers, &[A, B], vec![tender("T-1", Some("G"), vec![line("L1", 200.0, 1.0, None)])]).await;
        phone.send("fac", "/repartir T-1").await;
        let launch = phone.last_to("fac").await;
        assert!(launch.contains("Hors groupement") && launch.contains("Chantier C"), "{launch}");
        assert!(launch.contains(&format!("/inviter {C} T-1")), "{launch}");
        assert!(!launch.contains("GEIQ D"), "a GEIQ cannot carry out a lot of an execution-only line: {launch}");

        // Everyone accepts: the campaign is ready with 100 h uncovered.
        for s in [A, B] {
            let offer = offers_to(&phone, s).await.remove(0);
            phone.press(s, &offer.1).await;
        }
        assert!(phone.to("fac").await.iter().any(|m| m.text.contains("Campagne T-1 terminée")));

        // Refusals first: a structure may not invite; unknown SIRET; already a member.
        phone.send(A, &format!("/inviter {C} T-1")).await;
        assert!(phone.last_to(A).await.contains("réservée aux facilitateurs"));
        phone.send("fac", "/inviter 73282932000075 T-1").await;
        assert!(phone.last_to("fac").await.contains("SIRET"));
        phone.send("fac", &format!("/inviter {B} T-1")).await;
        assert!(phone.last_to("fac").await.contains("peut déjà répondre"));

        // C joins for this tender; a ready campaign waits for /repartir, which re-opens it.
        phone.send("fac", &format!("/inviter {C} T-1")).await;
        let added = phone.last_to("fac").await;
        assert!(added.contains("Chantier C rejoint le groupement pour T-1") && added.contains("/repartir"), "{added}");
        assert!(offers_to(&phone, C).await.is_empty());
        phone.send("fac", "/repartir T-1").await;
        let reopened = phone.last_to("fac").await;
        assert!(reopened.contains("rouverte") && reopened.contains("1 nouvelle(s) offre(s)"), "{reopened}");
        let offer = offers_to(&phone, C).await.remove(0);
        assert!(offer.0.contains("100 h"), "{}", offer.0);
        phone.press(C, &offer.1).await;
        phone.send("fac", "/etat T-1").await;
        assert!(phone.last_to("fac").await.contains("(100 %)"));
        // The bid says who joined for this tender only.
        phone.send("fac", "/envoyer T-1").await;
        let page = phone.to("fac").await.into_iter().rev().find_map(|m| m.document).expect("the proposal page");
        assert_eq!(page.content.matches("membre pour cet appel seulement").count(), 1, "C only");

        // Nothing left: /repartir on the ready campaign says so and changes nothing.
        let log = store.campaign_log(&reference("T-1")).await?;
        phone.send("fac", "/repartir T-1").await;
        assert!(phone.last_to("fac").await.contains("tout est couvert"));
        assert_eq!(store.campaign_log(&reference("T-1")).await?.version, log.version);
        let kinds: Vec<String> = log.events.iter().map(|e| e.kind.clone()).collect();
        assert!(kinds.contains(&"supplier_added".to_owned()) && kinds.contains(&"reopened".to_owned()), "{kinds:?}");
        Ok::<_, StoreError>(())
    })
    .await;
}
