//! What the e-mail channel's tests share: an engine with the channel on, a territory where each of three
//! structures (no chat account, a directory address) is alone in reach of its own line, and the answer
//! pages served on loopback.

#![allow(dead_code)] // each test binary uses a different part of this module

pub mod smtp_server;

use std::time::Duration;

use essaim_chat::{Engine, EngineSettings, ProposalDelivery};
use essaim_core::{
    Buyer, Capacities, Contact, GeoPoint, Groupement, GroupementCode, Lang, OfferState, Sector, SectorInfo,
    SectorTaxonomy, Siret, Supplier, SupplierKind, Tender, TenderLine, TenderRef,
};
use essaim_mail::LinkKey;
use essaim_store::Store;

pub const A: &str = "73282932000074";
pub const B: &str = "12345678900015";
pub const C: &str = "30000000000004";
pub const KEY: &[u8] = b"a test key of at least thirty-two bytes, never used in production";

pub fn sector() -> Sector {
    Sector::parse("sector", "nettoyage").expect("sector")
}

pub fn settings() -> EngineSettings {
    EngineSettings {
        default_lang: Lang::Fr,
        time_zone: chrono_tz::Europe::Paris,
        response_time: chrono::Duration::hours(48),
        campaign_duration: chrono::Duration::hours(168),
        reminder_schedule: "0 9 * * 1-5".into(),
        tick: Duration::from_secs(30),
        weights: essaim_solver::Weights::default(),
        solve: essaim_solver::SolveSettings::default(),
        taxonomy: SectorTaxonomy::new([SectorInfo {
            slug: sector(),
            label_fr: "Nettoyage".into(),
            label_en: "Cleaning".into(),
            unit: "h".into(),
        }]),
        proposal: ProposalDelivery::default(),
        email: true,
    }
}

/// Three structures 20 km apart, each the only one within reach of its own line of 50 h; none has a
/// chat account, each has a contact e-mail in the directory.
pub async fn territory(store: &Store) {
    let sites = [(A, "Atelier A", 45.70), (B, "Brigade B", 45.88), (C, "Chantier C", 46.06)];
    let suppliers: Vec<Supplier> = sites
        .iter()
        .map(|(siret, name, lat)| {
            let capacities: Capacities = [(sector(), 60.0)].into_iter().collect();
            let at = GeoPoint::new(*lat, 4.85).expect("point");
            let mut s = Supplier::new(parse_siret(siret), name, SupplierKind::Ei, at, 5.0, 10.0, capacities, None)
                .expect("supplier");
            let local = name.split_whitespace().last().unwrap_or("x").to_lowercase();
            s.contact = Contact {
                name: Some(format!("Direction {name}")),
                email: Some(format!("direction-{local}@structures.example")),
                phone: None,
            };
            s
        })
        .collect();
    let code = GroupementCode::parse("g", "G-MAIL").expect("code");
    let members = sites.iter().map(|(s, _, _)| parse_siret(s)).collect();
    let g = Groupement::new(code.clone(), "Groupement par courriel", parse_siret(A), members).expect("groupement");
    store.import_directory(&suppliers, &[g]).await.expect("directory");
    let lines = sites
        .iter()
        .enumerate()
        .map(|(i, (_, name, lat))| {
            let site = GeoPoint::new(*lat + 0.005, 4.85).expect("site");
            let mut line =
                TenderLine::new(&format!("lines[{i}]"), &format!("L{}", i + 1), sector(), 50.0, "h", site, None, None)
                    .expect("line");
            line.title = Some(format!("Nettoyage près de {name}"));
            line
        })
        .collect();
    let tender = Tender::new(
        TenderRef::parse("ref", "T-MAIL").expect("ref"),
        "Marché par courriel",
        Buyer { email: Some("achats@ville-test.example".into()), ..Buyer::named("Ville test", None) },
        None,
        Some(code),
        lines,
    )
    .expect("tender");
    store.insert_tender(&tender).await.expect("tender");
}

pub fn parse_siret(s: &str) -> Siret {
    Siret::parse(s).expect("SIRET")
}

/// The answer pages on a loopback port, as `essaim serve` mounts them.
pub async fn serve_pages(engine: Engine) -> String {
    let router = essaim_mail::answer_router(engine, LinkKey::new(KEY).expect("key"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{address}")
}

pub async fn offer_state(store: &Store, supplier: &str) -> OfferState {
    let (_, campaign) = store.campaign(&TenderRef::parse("r", "T-MAIL").expect("ref")).await.expect("campaign");
    let campaign = campaign.expect("a campaign");
    campaign.offers.values().find(|o| o.terms.supplier == supplier).map(|o| o.state.clone()).expect("offer")
}

pub fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

/// The button data of `supplier`'s offer for `action` (`ok` accept, `no` decline, `pt` part).
pub async fn data_of(store: &Store, supplier: &str, action: &str) -> String {
    let (_, campaign) = store.campaign(&TenderRef::parse("r", "T-MAIL").expect("ref")).await.expect("campaign");
    let campaign = campaign.expect("campaign");
    let offer = campaign.offers.values().find(|o| o.terms.supplier == supplier).expect("offer");
    format!("{action}:{}:T-MAIL", offer.terms.id)
}
