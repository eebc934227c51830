//! Facilitators scoped to their territory, as they see it over chat: a facilitator of Lyon sees, launches,
//! reminds, invites, sends and closes the tenders of Lyon only, and is told so in its words, without a word of
//! the other territories' tenders. On every backend (SQLite always, PostgreSQL when ESSAIM_TEST_POSTGRES_URL
//! is set).

mod common;

use essaim_chat::command::BidButton;
use essaim_chat::{Incoming, IncomingKind, Platform};
use essaim_core::{
    Buyer, Capacities, GeoPoint, Groupement, GroupementCode, Scope, Supplier, SupplierKind, Tender, TenderLine,
    TenderRef,
};
use essaim_store::testing::with_each_backend;
use essaim_store::{Store, StoreError};

use common::{Phone, sector, settings, siret};

/// Lyon's groupement: A and B.
const A: &str = "73282932000074";
const B: &str = "12345678900015";
/// Rennes's groupement: C.
const C: &str = "30000000000004";
const BUYER: &str = "15543739500017";

/// What a facilitator of Lyon must never read: the title of Rennes's tender.
const RENNES_TITLE: &str = "Entretien des espaces verts de Rennes";

fn point(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint::new(lat, lon).expect("point")
}

fn supplier(s: &str, name: &str, at: GeoPoint) -> Supplier {
    let capacities: Capacities = [(sector("nettoyage"), 60.0)].into_iter().collect();
    Supplier::new(siret(s), name, SupplierKind::Ei, at, 40.0, 10.0, capacities, None).expect("supplier")
}

fn code(c: &str) -> GroupementCode {
    GroupementCode::parse("g", c).expect("code")
}

fn tender(reference: &str, title: &str, groupement: Option<&str>, site: GeoPoint) -> Tender {
    let line = TenderLine::new("lines[0]", "L1", sector("nettoyage"), 50.0, "h", site, Some(0.6), None).expect("line");
    Tender::new(
        TenderRef::parse("ref", reference).expect("ref"),
        title,
        Buyer::named("Ville test", Some(siret(BUYER))),
        None,
        groupement.map(code),
        vec![line],
    )
    .expect("tender")
}

const LYON: (f64, f64) = (45.757, 4.832);
const RENNES: (f64, f64) = (48.111, -1.680);

/// Two territories: G-LYON (A, B) with T-LYON, G-RENNES (C) with T-RENNES, and T-69, a tender of no
/// groupement with its site in Villeurbanne (Rhône, 69).
async fn two_territories(store: &Store) {
    let lyon = point(LYON.0, LYON.1);
    let rennes = point(RENNES.0, RENNES.1);
    let suppliers = vec![
        supplier(A, "Atelier A", lyon),
        supplier(B, "Brigade B", point(45.77, 4.88)),
        supplier(C, "Chantier C", rennes),
    ];
    let groupements = vec![
        Groupement::new(code("G-LYON"), "Groupement Lyon", siret(A), vec![siret(A), siret(B)]).expect("g"),
        Groupement::new(code("G-RENNES"), "Groupement Rennes", siret(C), vec![siret(C)]).expect("g"),
    ];
    store.import_directory(&suppliers, &groupements).await.expect("directory");
    store.insert_tender(&tender("T-LYON", "Nettoyage de la mairie de Lyon", Some("G-LYON"), lyon)).await.expect("t");
    store.insert_tender(&tender("T-RENNES", RENNES_TITLE, Some("G-RENNES"), rennes)).await.expect("t");
    store.insert_tender(&tender("T-69", "Nettoyage à Villeurbanne", None, point(45.7719, 4.8902))).await.expect("t");
}

fn scope(s: &str) -> Scope {
    Scope::parse("scope", s).expect("scope")
}

/// Links `user` as a facilitator of `territory` (`None`: an invite made without a scope, national).
async fn facilitator(phone: &Phone, user: &str, territory: Option<&str>) {
    let code = format!("FAC-{user}");
    match territory {
        Some(t) => phone.engine.store().create_facilitator_invite(&code, &scope(t), None).await.expect("invite"),
        None => phone.invite(&code, None).await,
    }
    phone.send(user, &format!("/start {code}")).await;
}

async fn log_len(phone: &Phone, reference: &str) -> usize {
    let reference = TenderRef::parse("ref", reference).expect("ref");
    phone.engine.store().campaign_log(&reference).await.expect("log").events.len()
}

#[tokio::test]
async fn each_facilitator_lists_the_tenders_of_its_territory_and_a_national_one_lists_all() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        two_territories(phone.engine.store()).await;
        facilitator(&phone, "lyon", Some("G-LYON")).await;
        facilitator(&phone, "rhone", Some("dep:69")).await;
        facilitator(&phone, "bzh", Some("dep:35")).await;
        facilitator(&phone, "nat", None).await;
        facilitator(&phone, "nowhere", Some("dep:2A")).await;
        assert!(
            phone
                .last_to("nowhere")
                .await
                .starts_with("Bienvenue ! Ce compte a le rôle de facilitateur, territoire : département 2A.")
        );
        assert!(phone.last_to("nat").await.contains("territoire : national."), "{}", phone.last_to("nat").await);

        let listed = async |user: &str| {
            phone.send(user, "/appels").await;
            phone.last_to(user).await
        };
        let lyon = listed("lyon").await;
        assert!(lyon.contains("T-LYON") && !lyon.contains("T-RENNES") && !lyon.contains("T-69"), "{lyon}");
        assert!(!lyon.contains(RENNES_TITLE), "{lyon}");
        // A département covers the tenders with a site in it, of a groupement or of none.
        let rhone = listed("rhone").await;
        assert!(rhone.contains("T-LYON") && rhone.contains("T-69") && !rhone.contains("T-RENNES"), "{rhone}");
        let bzh = listed("bzh").await;
        assert!(bzh.contains("T-RENNES") && !bzh.contains("T-LYON") && !bzh.contains("T-69"), "{bzh}");
        let nat = listed("nat").await;
        assert!(nat.contains("T-LYON") && nat.contains("T-RENNES") && nat.contains("T-69"), "{nat}");
        assert_eq!(listed("nowhere").await, "Aucun appel dans votre territoire (département 2A).");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_facilitator_can_act_on_no_tender_outside_its_territory() {
    with_each_backend(|store| async move {
        let phone = Phone::with_settings(store, essaim_chat::EngineSettings { email: true, ..settings() });
        two_territories(phone.engine.store()).await;
        phone.invite("SUPC", Some(C)).await;
        phone.send("c", "/start SUPC").await;
        facilitator(&phone, "nat", None).await;
        facilitator(&phone, "lyon", Some("G-LYON,dep:69")).await;

        // Rennes's campaign runs, launched by a national facilitator: C has an offer.
        phone.send("nat", "/repartir T-RENNES").await;
        assert!(phone.last_to("nat").await.contains("Campagne T-RENNES lancée"), "{}", phone.last_to("nat").await);
        let events = log_len(&phone, "T-RENNES").await;
        let to_c = phone.to("c").await.len();
        let to_nat = phone.to("nat").await.len();

        let refusal = "⛔ L'appel T-RENNES n'est pas dans votre territoire (G-LYON, département 69). Rien n'a été \
                       modifié : un facilitateur de son territoire, ou national, peut s'en charger.";
        for command in [
            "/repartir T-RENNES",
            "/etat T-RENNES",
            "/relancer T-RENNES",
            "/envoyer T-RENNES",
            "/clore T-RENNES",
            "/membres T-RENNES",
            &format!("/inviter {A} T-RENNES"),
            &format!("/mandataire T-RENNES {C}"),
            "/repondre T-RENNES 1 Oui, le matériel est fourni.",
        ] {
            phone.send("lyon", command).await;
            let said = phone.last_to("lyon").await;
            assert_eq!(said, refusal, "{command}");
        }
        // Buttons carry the tender too: a forged or forwarded one is refused the same way, as a notice.
        let bid = BidButton {
            partial_lines: essaim_core::proposal::PartialLines::Mark,
            tender: TenderRef::parse("ref", "T-RENNES").expect("ref"),
        };
        let pressed = phone.press("lyon", &bid.data()).await;
        assert_eq!(pressed.notice.as_deref(), Some(refusal));
        let pressed = phone.press("lyon", "wy:1:T-RENNES").await;
        assert_eq!(pressed.notice.as_deref(), Some(refusal));
        phone.send("lyon", "/inviter_tous G-RENNES").await;
        assert_eq!(
            phone.last_to("lyon").await,
            "⛔ Le groupement G-RENNES n'est pas dans votre territoire (G-LYON, département 69). Rien n'a été envoyé."
        );

        // Nothing moved in Rennes: no event, no message to its structure or its facilitator, no title shown.
        assert_eq!(log_len(&phone, "T-RENNES").await, events);
        assert_eq!(phone.to("c").await.len(), to_c);
        assert_eq!(phone.to("nat").await.len(), to_nat);
        assert!(phone.to("lyon").await.iter().all(|m| !m.text.contains(RENNES_TITLE)));
        // An unknown tender is still unknown, not « outside ».
        phone.send("lyon", "/etat T-NOWHERE").await;
        assert!(phone.last_to("lyon").await.starts_with("Appel inconnu : T-NOWHERE."));

        // Within its territory the same facilitator acts: by groupement, and by département for T-69.
        phone.send("lyon", "/repartir T-LYON").await;
        assert!(phone.last_to("lyon").await.contains("Campagne T-LYON lancée"), "{}", phone.last_to("lyon").await);
        phone.send("lyon", "/etat T-69").await;
        assert!(!phone.last_to("lyon").await.contains("territoire"), "{}", phone.last_to("lyon").await);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_refusal_speaks_english_to_an_english_account() {
    with_each_backend(|store| async move {
        let phone = Phone::new(store);
        two_territories(phone.engine.store()).await;
        phone.engine.store().create_facilitator_invite("FAC-EN", &scope("dep:35"), None).await.expect("invite");
        let incoming = |id: &str, name: &str, args: &[&str]| Incoming {
            platform: Platform::Telegram,
            update_id: id.into(),
            user_id: "en".into(),
            chat_id: "en".into(),
            user_name: None,
            language: Some("en".into()),
            chat: essaim_chat::ChatKind::Private,
            kind: IncomingKind::Command { name: name.into(), args: args.iter().map(|a| a.to_string()).collect() },
        };
        phone.engine.handle(&incoming("e1", "start", &["FAC-EN"])).await.expect("handled");
        phone.engine.handle(&incoming("e2", "status", &["T-LYON"])).await.expect("handled");
        assert_eq!(
            phone.last_to("en").await,
            "⛔ Tender T-LYON is outside your territory (département 35). Nothing was changed: a facilitator of its \
             territory, or a national one, can handle it."
        );
        Ok::<_, StoreError>(())
    })
    .await;
}
