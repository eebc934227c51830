//! The bid as its users handle it in chat: a structure sets its own price (`/tarif`), the facilitator
//! names the mandataire of an ad hoc grouping (`/mandataire`) and chooses what to do with a line covered
//! in part before the buyer receives anything. On every backend (SQLite always, PostgreSQL when
//! ESSAIM_TEST_POSTGRES_URL is set).

mod common;

use std::sync::Arc;

use chrono::Utc;
use essaim_chat::{Engine, Outgoing};
use essaim_core::proposal::{LeadBasis, PriceBasis};
use essaim_core::{
    Buyer, BuyerKind, Capacities, GeoPoint, Groupement, GroupementCode, Lang, Proposal, SectorInfo, SectorTaxonomy,
    Supplier, SupplierKind, Tender, TenderLine, TenderRef,
};
use essaim_store::Store;
use essaim_store::testing::with_each_backend;
use tokio::sync::Notify;

use common::{Phone, button_data, sector, siret};

const A: &str = "73282932000074";
const B: &str = "12345678900015";
const D: &str = "30000000000004";
const BUYER: &str = "15543739500017";

fn supplier(s: &str, name: &str, kind: SupplierKind, sector_name: &str, capacity: f64, lat: f64) -> Supplier {
    let capacities: Capacities = [(sector(sector_name), capacity)].into_iter().collect();
    let at = GeoPoint::new(lat, 4.85).expect("point");
    Supplier::new(siret(s), name, kind, at, 40.0, 10.0, capacities, None).expect("supplier")
}

fn line(id: &str, sector_name: &str, quantity: f64, max_share: Option<f64>, price: f64) -> TenderLine {
    let site = GeoPoint::new(45.75, 4.85).expect("site");
    let mut line =
        TenderLine::new("line", id, sector(sector_name), quantity, "h", site, max_share, Some(price)).expect("line");
    line.title = Some(format!("Ligne {id}"));
    line
}

/// A and B clean (60 h each), D is an ESAT for green spaces (30 h). T-1: groupement G-BID (lead A), a
/// public buyer, L1 cleaning 100 h at 30 €, L2 green spaces 50 h at 40 € (D covers 30 of them). T-2: no
/// groupement, a private buyer, 80 h of cleaning.
async fn territory(store: &Store) {
    let suppliers = vec![
        supplier(A, "Atelier A", SupplierKind::Ei, "nettoyage", 60.0, 45.759),
        supplier(B, "Brigade B", SupplierKind::Ei, "nettoyage", 60.0, 45.795),
        supplier(D, "ESAT D", SupplierKind::Esat, "espaces_verts", 30.0, 45.76),
    ];
    let code = GroupementCode::parse("g", "G-BID").expect("code");
    let g = Groupement::new(code.clone(), "Groupement bid", siret(A), vec![siret(A), siret(B), siret(D)])
        .expect("groupement");
    store.import_directory(&suppliers, &[g]).await.expect("directory");
    let mut buyer = Buyer::named("Ville test", Some(siret(BUYER)));
    buyer.kind = Some(BuyerKind::Public);
    let t1 = Tender::new(
        TenderRef::parse("ref", "T-1").expect("ref"),
        "Marché public test",
        buyer,
        None,
        Some(code),
        vec![line("L1", "nettoyage", 100.0, Some(0.6), 30.0), line("L2", "espaces_verts", 50.0, None, 40.0)],
    )
    .expect("tender");
    store.insert_tender(&t1).await.expect("T-1");
    let mut buyer = Buyer::named("Entreprise test", Some(siret(BUYER)));
    buyer.kind = Some(BuyerKind::Private);
    let t2 = Tender::new(
        TenderRef::parse("ref", "T-2").expect("ref"),
        "Marché privé test",
        buyer,
        None,
        None,
        vec![line("L1", "nettoyage", 80.0, Some(0.6), 30.0)],
    )
    .expect("tender");
    store.insert_tender(&t2).await.expect("T-2");
}

fn phone(store: Store) -> Phone {
    let mut settings = common::settings();
    let info = |slug: &str, fr: &str, en: &str| SectorInfo {
        slug: sector(slug),
        label_fr: fr.into(),
        label_en: en.into(),
        unit: "h".into(),
    };
    settings.taxonomy = SectorTaxonomy::new([
        info("nettoyage", "Nettoyage", "Cleaning"),
        info("espaces_verts", "Espaces verts", "Green spaces"),
    ]);
    Phone { engine: Engine::new(store, settings, Arc::new(Notify::new())), next_update: 1.into() }
}

/// Everyone linked: the facilitator, A, B, D and the buyer.
async fn linked(phone: &Phone) {
    territory(phone.engine.store()).await;
    phone.invite("FAC1", None).await;
    for (code, s) in [("SUPA", A), ("SUPB", B), ("SUPD", D)] {
        phone.invite(code, Some(s)).await;
    }
    phone.engine.store().create_buyer_invite("BUY1", &siret(BUYER), None).await.expect("buyer invite");
    for (user, code) in [("fac", "FAC1"), ("a", "SUPA"), ("b", "SUPB"), ("d", "SUPD"), ("buyer", "BUY1")] {
        phone.send(user, &format!("/start {code}")).await;
    }
}

async fn last_offer(phone: &Phone, user: &str) -> Outgoing {
    phone
        .to(user)
        .await
        .into_iter()
        .rfind(|m| m.buttons.iter().flatten().any(|b| b.label == "Accepter"))
        .expect("an offer")
}

async fn proposal(store: &Store, reference: &str) -> Proposal {
    let reference = TenderRef::parse("ref", reference).expect("ref");
    let sources = store.proposal_sources(&reference).await.expect("sources").expect("tender");
    let bid = essaim_core::proposal::BidSettings::default();
    let impact = essaim_core::ImpactSettings::default();
    sources
        .proposal(&impact, &bid, essaim_core::GroupementKind::Conjoint, Lang::Fr, Utc::now())
        .expect("a campaign")
        .expect("builds")
}

fn documents(messages: &[Outgoing]) -> Vec<&Outgoing> {
    messages.iter().filter(|m| m.document.is_some()).collect()
}

#[tokio::test]
async fn a_structure_sets_its_price_and_its_lots_and_offers_are_priced_at_it() {
    with_each_backend(|store| async move {
        let phone = phone(store);
        linked(&phone).await;
        // Only a structure sets a price, within bounds, for a sector the taxonomy knows.
        phone.send("fac", "/tarif nettoyage 26,50").await;
        assert!(phone.last_to("fac").await.contains("réservée aux structures"), "{}", phone.last_to("fac").await);
        phone.send("a", "/tarif").await;
        assert!(phone.last_to("a").await.contains("Usage : /tarif SECTEUR PRIX"));
        phone.send("a", "/tarif astronautique 20").await;
        assert!(phone.last_to("a").await.contains("Tarif non valable"), "{}", phone.last_to("a").await);
        for bad in ["0", "-3", "20000", "beaucoup"] {
            phone.send("a", &format!("/tarif nettoyage {bad}")).await;
            assert!(phone.last_to("a").await.contains("Tarif non valable"), "{bad}: {}", phone.last_to("a").await);
        }
        let before = phone.engine.store().supplier(&siret(A)).await?.expect("A");
        assert!(before.prices.is_empty(), "a refused price changes nothing");
        phone.send("a", "/tarif nettoyage 26,50").await;
        assert!(
            phone.last_to("a").await.contains("Tarif mis à jour : Nettoyage = 26,50"),
            "{}",
            phone.last_to("a").await
        );
        let a = phone.engine.store().supplier(&siret(A)).await?.expect("A");
        assert_eq!(a.prices.get(&sector("nettoyage")), Some(&26.5), "stored");

        // The offers show their amount: A at its own price, B at the buyer's reference.
        phone.send("fac", "/repartir T-1").await;
        let offer_a = last_offer(&phone, "a").await;
        let offer_b = last_offer(&phone, "b").await;
        let money = |v: f64| essaim_core::format_number(v, 2, Lang::Fr);
        let own = format!("{} € HT ({} € / h : votre tarif)", money(1590.0), money(26.5));
        assert!(offer_a.text.contains(&own), "{}", offer_a.text);
        let reference = format!("{} € HT ({} € / h : prix de référence", money(1200.0), money(30.0));
        assert!(offer_b.text.contains(&reference), "{}", offer_b.text);

        for user in ["a", "b", "d"] {
            let offer = last_offer(&phone, user).await;
            phone.press(user, &button_data(&offer, "Accepter")).await;
        }
        let p = proposal(phone.engine.store(), "T-1").await;
        let lot_a = p.lots().find(|l| l.supplier == A).expect("A's lot");
        assert_eq!((lot_a.unit_price, lot_a.price_basis, lot_a.amount), (Some(26.5), PriceBasis::Member, Some(1590.0)));
        let lot_b = p.lots().find(|l| l.supplier == B).expect("B's lot");
        assert_eq!(
            (lot_b.unit_price, lot_b.price_basis, lot_b.amount),
            (Some(30.0), PriceBasis::Reference, Some(1200.0))
        );
        // 1 590 + 1 200 + 30 h × 40 € = 3 990 € HT, 798 € of VAT at 20 %, 4 788 € TTC.
        assert_eq!(
            (p.totals.amount, p.totals.vat, p.totals.amount_incl_vat),
            (Some(3990.0), Some(798.0), Some(4788.0))
        );

        // "aucun" removes it: the next offers are at the reference price.
        phone.send("a", "/tarif nettoyage aucun").await;
        assert!(phone.last_to("a").await.contains("Tarif retiré"));
        assert!(phone.engine.store().supplier(&siret(A)).await?.expect("A").prices.is_empty());
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_facilitator_names_the_mandataire_of_an_ad_hoc_grouping_and_only_then() {
    with_each_backend(|store| async move {
        let phone = phone(store);
        linked(&phone).await;
        phone.send("fac", "/mandataire T-2").await;
        assert!(phone.last_to("fac").await.contains("Usage : /mandataire REF SIRET"));
        phone.send("fac", &format!("/mandataire T-2 {A}")).await;
        assert!(
            phone.last_to("fac").await.contains("/repartir T-2"),
            "no campaign yet: {}",
            phone.last_to("fac").await
        );
        phone.send("fac", "/repartir T-2").await;
        let p = proposal(phone.engine.store(), "T-2").await;
        assert_eq!(
            (p.groupement.lead.as_deref(), p.groupement.lead_basis),
            (None, LeadBasis::ToDesignate),
            "never computed"
        );

        phone.send("a", &format!("/mandataire T-2 {A}")).await;
        assert!(phone.last_to("a").await.contains("réservée aux facilitateurs"));
        phone.send("fac", &format!("/mandataire T-2 {D}")).await;
        assert!(
            phone.last_to("fac").await.contains("ne fait pas partie"),
            "an ESAT in green spaces does not answer T-2"
        );
        phone.send("fac", "/mandataire T-2 11111111111111").await;
        let unknown = phone.last_to("fac").await;
        assert!(!unknown.contains("désigné"), "{unknown}");
        phone.send("fac", &format!("/mandataire T-1 {B}")).await;
        assert!(phone.last_to("fac").await.contains("a son mandataire dans l'annuaire : Atelier A"));
        let unchanged = proposal(phone.engine.store(), "T-2").await;
        assert_eq!(unchanged.groupement.lead, None, "refusals record nothing");

        phone.send("fac", &format!("/mandataire T-2 {B}")).await;
        assert!(
            phone.last_to("fac").await.contains("Brigade B est désigné mandataire"),
            "{}",
            phone.last_to("fac").await
        );
        let p = proposal(phone.engine.store(), "T-2").await;
        assert_eq!((p.groupement.lead.as_deref(), p.groupement.lead_basis), (Some(B), LeadBasis::Designated));
        assert_eq!(p.lead().map(|m| m.name.as_str()), Some("Brigade B"));
        assert!(essaim_core::proposal::html::render(&p).contains("R2142-24"), "the page gives the basis");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_line_covered_in_part_waits_for_the_facilitators_choice_before_the_buyer_sees_it() {
    with_each_backend(|store| async move {
        let phone = phone(store);
        linked(&phone).await;
        phone.send("fac", "/repartir T-1").await;
        for user in ["a", "b", "d"] {
            let offer = last_offer(&phone, user).await;
            phone.press(user, &button_data(&offer, "Accepter")).await;
        }
        // Ready, but L2 is covered 30 of 50 h: the facilitator is asked, the buyer gets nothing yet.
        assert!(documents(&phone.to("buyer").await).is_empty(), "nothing reaches the buyer before the choice");
        let question = phone
            .to("fac")
            .await
            .into_iter()
            .rfind(|m| m.text.contains("ne couvre qu'en partie"))
            .expect("the facilitator is asked");
        assert!(question.text.contains("Ligne L2") && question.text.contains("30 / 50 h"), "{}", question.text);
        assert!(question.text.contains("L2152-2"), "a public buyer: the rule is given: {}", question.text);
        assert!(!question.text.contains("Ligne L1"), "L1 is covered in full");

        // A structure cannot answer for the facilitator.
        let without = button_data(&question, "Envoyer sans ces lignes");
        let refused = phone.press("a", &without).await;
        assert!(refused.notice.as_deref().is_some_and(|n| n.contains("réservée aux facilitateurs")));
        assert!(documents(&phone.to("buyer").await).is_empty());

        // Without the line: the buyer's page says it is not offered and the totals leave it out.
        phone.press("fac", &without).await;
        let sent = phone.to("buyer").await;
        let docs = documents(&sent);
        assert_eq!(docs.len(), 1, "one proposal");
        let page = &docs[0].document.as_ref().expect("page").content;
        assert!(page.contains("Ligne non offerte"), "L2 left out");
        assert!(page.contains(&essaim_core::format_number(3000.0, 2, Lang::Fr)), "L1 only: 100 h × 30 €");
        assert!(!page.contains(&essaim_core::format_number(4200.0, 2, Lang::Fr)), "L2's 1 200 € not added");

        // A second press on the same question, either button, sends nothing again.
        phone.press("fac", &without).await;
        phone.press("fac", &button_data(&question, "Envoyer en offre partielle")).await;
        assert_eq!(documents(&phone.to("buyer").await).len(), 1, "the question is answered once");

        // /envoyer asks again; this time the line goes marked « offre partielle ».
        phone.send("fac", "/envoyer T-1").await;
        let again =
            phone.to("fac").await.into_iter().rfind(|m| m.text.contains("ne couvre qu'en partie")).expect("asked");
        assert_ne!(again.text, "", "a new question");
        phone.press_on("fac", &button_data(&again, "Envoyer en offre partielle"), "78").await;
        let docs_now = phone.to("buyer").await;
        let docs_now = documents(&docs_now);
        assert_eq!(docs_now.len(), 2);
        let page = &docs_now[1].document.as_ref().expect("page").content;
        assert!(page.contains("offre partielle") && !page.contains("Ligne non offerte"), "marked, not left out");
        assert!(page.contains(&essaim_core::format_number(4200.0, 2, Lang::Fr)), "3 000 + 1 200 € HT");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}
