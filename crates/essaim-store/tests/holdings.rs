//! The holdings projection on every backend: written with each campaign append, read across tenders,
//! rebuilt by `migrate` for campaigns recorded before it existed, and the booking versions that make two
//! decisions booking the same structure on one read conflict.

use chrono::{TimeZone, Utc};
use essaim_core::{
    Actor, Buyer, Campaign, CampaignEvent, Capacities, GeoPoint, HoldingState, Sector, Siret, Supplier, SupplierKind,
    Tender, TenderLine, TenderRef,
};
use essaim_store::testing::{execute_raw, with_each_backend};
use essaim_store::{Applied, CampaignAppend, Changeset, NewEvent, Store, StoreError};

const A: &str = "73282932000074";
const B: &str = "12345678900015";

fn siret(s: &str) -> Siret {
    Siret::parse(s).expect("test SIRET")
}

fn sector() -> Sector {
    Sector::parse("sector", "nettoyage").expect("sector")
}

async fn directory_and_tenders(store: &Store) -> Result<Vec<Tender>, StoreError> {
    let suppliers: Vec<Supplier> = [A, B]
        .iter()
        .map(|s| {
            let capacities: Capacities = [(sector(), 100.0)].into_iter().collect();
            let at = GeoPoint::new(45.76, 4.85).expect("point");
            Supplier::new(siret(s), s, SupplierKind::Ei, at, 40.0, 0.0, capacities, None).expect("supplier")
        })
        .collect();
    store.import_directory(&suppliers, &[]).await?;
    let mut tenders = Vec::new();
    for reference in ["T-1", "T-2"] {
        let site = GeoPoint::new(45.75, 4.85).expect("site");
        let line = TenderLine::new("l", "L1", sector(), 80.0, "h", site, None, None).expect("line");
        let tender = Tender::new(
            TenderRef::parse("ref", reference).expect("ref"),
            reference,
            Buyer::named("Ville", None),
            None,
            None,
            vec![line],
        )
        .expect("tender");
        store.insert_tender(&tender).await?;
        tenders.push(tender);
    }
    Ok(tenders)
}

/// A campaign of `tender` with one offer of `quantity` to `supplier`, accepted when `accept`.
fn events(tender: &Tender, supplier: &str, quantity: f64, accept: bool) -> Vec<CampaignEvent> {
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("time");
    let by = Actor { channel: "cli".into(), user_id: "fac".into(), chat_id: None, name: None };
    let mut events = vec![Campaign::launch(by.clone(), at, at + chrono::Duration::days(7))];
    let campaign = Campaign::replay(tender.reference.clone(), &events).expect("replays").expect("launched");
    let lots = [("L1".to_owned(), supplier.to_owned(), quantity, 1.0)];
    events.push(campaign.offers_made(&lots, Vec::new(), |_| 0.0, at, at + chrono::Duration::days(2)));
    if accept {
        let campaign = Campaign::replay(tender.reference.clone(), &events).expect("replays").expect("launched");
        events.push(campaign.answer(1, supplier, essaim_core::Answer::Accept, by, at).expect("accepted"));
    }
    events
}

fn append(tender: &Tender, events: &[CampaignEvent], bookings: Vec<(String, i64)>) -> Changeset {
    let campaign = Campaign::replay(tender.reference.clone(), events).expect("replays").expect("launched");
    Changeset {
        campaign: Some(CampaignAppend {
            tender: tender.reference.clone(),
            expected_version: 0,
            status: campaign.status.as_str().into(),
            events: events
                .iter()
                .map(|e| NewEvent { kind: e.kind().into(), payload: serde_json::to_value(e).expect("JSON") })
                .collect(),
            holdings: campaign.holdings(tender),
            bookings,
        }),
        ..Changeset::default()
    }
}

#[tokio::test]
async fn holdings_are_written_with_the_campaign_and_read_across_tenders() {
    with_each_backend(|store| async move {
        let tenders = directory_and_tenders(&store).await?;
        let versions = store.capacity_context(&tenders[0].reference).await?.booking_versions;
        assert_eq!(versions.get(A), Some(&0));
        let booked = vec![(A.to_owned(), 0)];
        assert_eq!(
            store.apply(&append(&tenders[0], &events(&tenders[0], A, 60.0, true), booked)).await?,
            Applied::Done
        );

        // T-2 sees what A holds on T-1, not its own; A sees its commitment.
        let context = store.capacity_context(&tenders[1].reference).await?;
        assert_eq!(context.holdings.len(), 1);
        let held = &context.holdings[0];
        assert_eq!((held.tender.as_str(), held.supplier.as_str(), held.quantity), ("T-1", A, 60.0));
        assert_eq!(held.state, HoldingState::Accepted);
        assert_eq!(context.booking_versions.get(A), Some(&1), "booking A moved its version");
        assert!(store.capacity_context(&tenders[0].reference).await?.holdings.is_empty());
        assert_eq!(store.holdings_of_supplier(&siret(A)).await?.len(), 1);

        // A decision that read A's version before that booking conflicts, and writes nothing.
        let stale = append(&tenders[1], &events(&tenders[1], A, 40.0, false), vec![(A.to_owned(), 0)]);
        assert_eq!(store.apply(&stale).await?, Applied::Conflict);
        assert_eq!(store.campaign_log(&tenders[1].reference).await?.version, 0);
        let fresh = append(&tenders[1], &events(&tenders[1], A, 40.0, false), vec![(A.to_owned(), 1)]);
        assert_eq!(store.apply(&fresh).await?, Applied::Done);
        let all = store.holdings_of_supplier(&siret(A)).await?;
        assert_eq!(all.iter().map(|h| h.quantity).sum::<f64>(), 100.0);
        assert_eq!(all[1].state, HoldingState::Offered);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn migrate_rebuilds_the_holdings_of_campaigns_recorded_before_them() {
    with_each_backend(|store| async move {
        let tenders = directory_and_tenders(&store).await?;
        store.apply(&append(&tenders[0], &events(&tenders[0], B, 30.0, true), Vec::new())).await?;
        // As a database from before the projection: no holdings, and a version that lags.
        execute_raw(&store, "DELETE FROM holdings").await?;
        execute_raw(&store, "UPDATE campaigns SET holdings_version = -1").await?;
        assert!(store.holdings_of_supplier(&siret(B)).await?.is_empty());
        store.migrate().await?;
        let rebuilt = store.holdings_of_supplier(&siret(B)).await?;
        assert_eq!(rebuilt.len(), 1);
        assert_eq!((rebuilt[0].quantity, rebuilt[0].state), (30.0, HoldingState::Accepted));
        assert_eq!(store.rebuild_stale_holdings().await?, 0, "nothing lags any more");
        Ok::<_, StoreError>(())
    })
    .await;
}
