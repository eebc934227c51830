//! Structures imported from a directory that does not give capacities (Le Marché, data·inclusion, FINESS):
//! the bot asks them on linking, `/capacite` makes a sector known, and the facilitator's `/etat` and launch
//! note name those still unknown. On every backend (SQLite always, PostgreSQL when ESSAIM_TEST_POSTGRES_URL
//! is set).

mod common;

use essaim_chat::IncomingKind;
use essaim_core::{
    Buyer, Capacities, GeoPoint, Groupement, GroupementCode, SectorInfo, SectorTaxonomy, Supplier, SupplierKind,
    Tender, TenderLine, TenderRef,
};
use essaim_store::Store;
use essaim_store::testing::with_each_backend;

use common::{Phone, sector, siret};

/// Known, with its capacity (from the directory's own CSV).
const A: &str = "73282932000074";
/// Imported from an export listing cleaning and green spaces.
const X: &str = "12345678900015";
/// Imported from an export listing no sector it maps.
const Y: &str = "30000000000004";

fn supplier(s: &str, name: &str, lat: f64, capacities: &[(&str, f64)]) -> Supplier {
    let capacities: Capacities = capacities.iter().map(|(k, q)| (sector(k), *q)).collect();
    let at = GeoPoint::new(lat, 4.85).expect("point");
    Supplier::new(siret(s), name, SupplierKind::Ei, at, 40.0, 0.0, capacities, None).expect("supplier")
}

/// A SIRET with a valid Luhn key, for the i-th filler structure.
fn filler_siret(i: u32) -> String {
    let base = format!("4{:012}", 1000 + i);
    (0..10).map(|k| format!("{base}{k}")).find(|s| essaim_core::Siret::parse(s).is_ok()).expect("a key")
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
    Phone::with_settings(store, settings)
}

fn tender(reference: &str, groupement: Option<&str>) -> Tender {
    let line = TenderLine::new(
        "lines[0]",
        "L1",
        sector("nettoyage"),
        50.0,
        "h",
        GeoPoint::new(45.75, 4.85).expect("site"),
        None,
        None,
    )
    .expect("line");
    Tender::new(
        TenderRef::parse("ref", reference).expect("ref"),
        "Marché test",
        Buyer::named("Ville test", None),
        None,
        groupement.map(|g| GroupementCode::parse("g", g).expect("code")),
        vec![line],
    )
    .expect("tender")
}

/// G-TEST: A (known), X and Y (imported) and 11 more imported structures (« Structure 01 » …), all near the
/// site; one imported structure far away (Brest) outside every groupement. T-1 is the groupement's, T-2 the
/// whole directory's.
async fn directory(store: &Store) {
    let mut imported = vec![
        (supplier(X, "Atelier X", 45.76, &[]), vec![sector("nettoyage"), sector("espaces_verts")]),
        (supplier(Y, "Brigade Y", 45.77, &[]), vec![]),
    ];
    let fillers: Vec<String> = (1..=11).map(filler_siret).collect();
    for (i, s) in fillers.iter().enumerate() {
        imported.push((supplier(s, &format!("Structure {:02}", i + 1), 45.76, &[]), vec![sector("nettoyage")]));
    }
    let far = filler_siret(99);
    imported.push((supplier(&far, "ESAT de Brest", 48.39, &[]), vec![sector("nettoyage")]));
    store.import_structures(&imported).await.expect("imported structures");
    let mut members = vec![siret(A), siret(X), siret(Y)];
    members.extend(fillers.iter().map(|s| siret(s)));
    let g = Groupement::new(GroupementCode::parse("g", "G-TEST").expect("code"), "Groupement test", siret(A), members)
        .expect("groupement");
    store.import_directory(&[supplier(A, "Atelier A", 45.759, &[("nettoyage", 60.0)])], &[g]).await.expect("directory");
    store.insert_tender(&tender("T-1", Some("G-TEST"))).await.expect("T-1");
    store.insert_tender(&tender("T-2", None)).await.expect("T-2");
}

#[tokio::test]
async fn an_imported_structure_is_asked_its_capacities_on_linking_until_it_gives_them() {
    with_each_backend(|store| async move {
        let phone = phone(store);
        directory(phone.engine.store()).await;
        phone.invite("SUPA", Some(A)).await;
        phone.invite("SUPX", Some(X)).await;
        phone.invite("SUPY", Some(Y)).await;

        // A known structure is welcomed as before, with no question.
        phone.send("a", "/start SUPA").await;
        let to_a = phone.to("a").await;
        assert_eq!(to_a.len(), 1, "{to_a:?}");
        assert!(!to_a[0].text.contains("capacité"), "{}", to_a[0].text);

        // An imported one is asked, with the sectors its source listed and how to answer.
        phone.send("x", "/start SUPX").await;
        let asked = phone.last_to("x").await;
        assert!(asked.contains("La capacité de votre structure n'est pas encore connue"), "{asked}");
        assert!(asked.contains("elle travaille en : Espaces verts, Nettoyage."), "{asked}");
        assert!(asked.contains("/capacite SECTEUR QUANTITÉ (par exemple « /capacite espaces verts 120 »"), "{asked}");

        // Each answer makes its sector known; the bot says what is left.
        phone.send("x", "/capacite nettoyage 30").await;
        let reply = phone.last_to("x").await;
        assert!(reply.contains("Capacité mise à jour : Nettoyage = 30 h"), "{reply}");
        assert!(reply.contains("Encore à indiquer : Espaces verts."), "{reply}");
        phone.send("x", "/capacite espaces verts 0").await;
        let reply = phone.last_to("x").await;
        assert!(reply.contains("Espaces verts = 0 h") && !reply.contains("Encore"), "{reply}");
        assert_eq!(phone.engine.store().unknown_capacity(&siret(X)).await?, None);

        // In English, for a structure whose source listed no sector it maps.
        let mut start = phone.incoming("y", IncomingKind::Command { name: "start".into(), args: vec!["SUPY".into()] });
        start.language = Some("en".into());
        phone.engine.handle(&start).await.expect("handled");
        let asked = phone.last_to("y").await;
        assert!(asked.contains("Your structure's capacity is not known yet"), "{asked}");
        assert!(asked.contains("does not say which sectors it works in"), "{asked}");
        assert!(asked.contains("/capacity SECTOR QUANTITY (for example « /capacity cleaning 120 »"), "{asked}");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_launch_note_and_status_name_the_structures_of_unknown_capacity_to_call() {
    with_each_backend(|store| async move {
        let phone = phone(store);
        directory(phone.engine.store()).await;
        phone.invite("FAC1", None).await;
        phone.send("fac", "/start FAC1").await;

        phone.send("fac", "/repartir T-1").await;
        let launched = phone.last_to("fac").await;
        assert!(launched.contains("Campagne T-1 lancée : 1 offre(s)"), "{launched}");
        // 13 members of unknown capacity: the first 10 by name, then how many others; never A, never Brest.
        assert!(
            launched.contains(
                "❓ Capacité inconnue (13 structure(s), importées sans capacité : à appeler pour qu'elles la donnent \
                 avec /capacite) : Atelier X, Brigade Y, Structure 01, Structure 02, Structure 03, Structure 04, \
                 Structure 05, Structure 06, Structure 07, Structure 08 et 3 autre(s)"
            ),
            "{launched}"
        );
        let unknown = launched.lines().find(|l| l.starts_with("❓")).expect("the unknown capacity line");
        assert!(!unknown.contains("Atelier A") && !unknown.contains("Brest"), "{launched}");

        // X gives its capacities: /etat no longer names it.
        phone.invite("SUPX", Some(X)).await;
        phone.send("x", "/start SUPX").await;
        phone.send("x", "/capacite nettoyage 30").await;
        phone.send("x", "/capacite espaces verts 10").await;
        phone.send("fac", "/etat T-1").await;
        let status = phone.last_to("fac").await;
        assert!(status.contains("❓ Capacité inconnue (12 structure(s)"), "{status}");
        assert!(status.contains(": Brigade Y, Structure 01,") && status.contains("et 2 autre(s)"), "{status}");
        assert!(!status.contains("Atelier X"), "{status}");

        // A tender of the whole directory names those in reach of its site only (not Brest).
        phone.send("fac", "/repartir T-2").await;
        let launched = phone.last_to("fac").await;
        assert!(launched.contains("Campagne T-2 lancée") && launched.contains("(12 structure(s)"), "{launched}");
        assert!(!launched.contains("Brest"), "{launched}");
        Ok::<_, essaim_store::StoreError>(())
    })
    .await;
}
