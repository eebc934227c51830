//! Moving a whole installation: `export_all` from one backend, `import_all` into a fresh database of
//! each backend, then export again: the two files are the same bytes. Also what an import refuses (a
//! database already in use, a file cut short) without writing anything, and that new rows after an
//! import do not collide with imported ids (PostgreSQL identity sequences).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use essaim_core::{
    Actor, Buyer, Campaign, CampaignEvent, Capacities, GeoPoint, Role, Sector, Siret, Supplier, SupplierKind, Tender,
    TenderLine, TenderRef,
};
use essaim_store::testing::{execute_raw, with_each_backend, with_each_database_url};
use essaim_store::{CampaignAppend, Changeset, InboxKey, NewEvent, NewOutgoing, Store, StoreError};

const A: &str = "73282932000074";
const B: &str = "12345678900015";
const C: &str = "30000000000004";

fn siret(s: &str) -> Siret {
    Siret::parse(s).expect("test SIRET")
}

fn sector() -> Sector {
    Sector::parse("sector", "nettoyage").expect("sector")
}

/// A store in use: directory, a tender with a running campaign (events, holdings), queued and sent
/// messages, a linked account, invites, an API token, a processed update and a job run.
async fn fill(store: &Store) -> Result<(), StoreError> {
    let suppliers: Vec<Supplier> = [A, B]
        .iter()
        .map(|s| {
            let capacities: Capacities = [(sector(), 100.5)].into_iter().collect();
            let at = GeoPoint::new(45.76, 4.85).expect("point");
            Supplier::new(siret(s), &format!("Structure é {s}"), SupplierKind::Ei, at, 40.0, 0.0, capacities, None)
                .expect("supplier")
        })
        .collect();
    store.import_directory(&suppliers, &[]).await?;
    // A structure from an export: capacity unknown, the sectors its source listed (migration 0011).
    let at = GeoPoint::new(45.7, 4.8).expect("point");
    let imported = Supplier::new(siret(C), "Importée", SupplierKind::Ei, at, 40.0, 0.0, Capacities::new(), None)
        .expect("supplier");
    store.import_structures(&[(imported, vec![sector()])]).await?;
    let site = GeoPoint::new(45.75, 4.85).expect("site");
    let line = TenderLine::new("l", "L1", sector(), 80.0, "h", site, None, None).expect("line");
    let tender = Tender::new(
        TenderRef::parse("ref", "T-1").expect("ref"),
        "Nettoyage des écoles",
        Buyer::named("Ville", None),
        None,
        None,
        vec![line],
    )
    .expect("tender");
    store.insert_tender(&tender).await?;

    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).single().expect("time");
    let by = Actor { channel: "telegram".into(), user_id: "42".into(), chat_id: Some("42".into()), name: None };
    let mut events: Vec<CampaignEvent> = vec![Campaign::launch(by.clone(), at, at + chrono::Duration::days(7))];
    let campaign = Campaign::replay(tender.reference.clone(), &events).expect("replays").expect("launched");
    let lots = [("L1".to_owned(), A.to_owned(), 60.0, 1.0)];
    events.push(campaign.offers_made(&lots, Vec::new(), |_| 0.0, at, at + chrono::Duration::days(2)));
    let campaign = Campaign::replay(tender.reference.clone(), &events).expect("replays").expect("launched");
    let outgoing = |key: &str, chat: &str| NewOutgoing {
        key: key.into(),
        platform: "telegram".into(),
        chat_id: chat.into(),
        payload: serde_json::json!({"text": format!("Bonjour « {key} »")}),
    };
    store
        .apply(&Changeset {
            inbox: Some(InboxKey { platform: "telegram".into(), update_id: "1001".into() }),
            campaign: Some(CampaignAppend {
                tender: tender.reference.clone(),
                expected_version: 0,
                status: campaign.status.as_str().into(),
                events: events
                    .iter()
                    .map(|e| NewEvent { kind: e.kind().into(), payload: serde_json::to_value(e).expect("JSON") })
                    .collect(),
                holdings: campaign.holdings(&tender),
                bookings: vec![(A.to_owned(), 0)],
            }),
            outbox: vec![outgoing("offer-1", "42"), outgoing("offer-2", "43")],
            ..Changeset::default()
        })
        .await?;
    store.create_invite("INV-FAC", Role::Facilitator, None, None).await?;
    store.create_invite("INV-B", Role::Supplier, Some(&siret(B)), Some(at + chrono::Duration::days(30))).await?;
    // Written as SQL rather than through `AccountLink`, whose fields grow with the features of accounts.
    execute_raw(
        store,
        &format!(
            "INSERT INTO chat_accounts (platform, user_id, chat_id, role, supplier_siret, language, display_name, \
             linked_at, updated_at) VALUES ('telegram', '42', '42', 'supplier', '{A}', 'fr', 'Zoé', \
             '2026-12-01T09:00:00+00:00', '2026-12-01T09:00:00.500+00:00')"
        ),
    )
    .await?;
    store.create_api_token("tok-1", "ab12", "buyer", Some(&siret(B)), Some("Ville")).await?;
    let claimed = store.claim_outbox(Utc::now(), 1, std::time::Duration::from_secs(60)).await?;
    store.outbox_sent(claimed[0].id, Some("777")).await?;
    store.claim_job_run("reminders", at).await?;
    Ok(())
}

async fn export(store: &Store) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    store.export_all(&mut out).await?;
    Ok(out)
}

async fn open(url: &str) -> Result<Store, StoreError> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

#[tokio::test]
async fn an_installation_moves_to_either_backend_and_exports_the_same_bytes() {
    with_each_backend(|source| async move {
        fill(&source).await?;
        let exported = Arc::new(export(&source).await?);
        let text = String::from_utf8(exported.to_vec()).expect("UTF-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with(r#"{"format":"essaim-export","format_version":1,"schema_version":"#));
        assert!(lines.last().expect("end").starts_with(r#"{"end":true"#));
        for table in ["suppliers", "tenders", "events", "campaigns", "holdings", "outbox", "chat_accounts", "invites"] {
            assert!(lines.iter().any(|l| l.starts_with(&format!(r#"{{"table":"{table}""#))), "{table} exported");
        }
        // Parents before children, so that an import never trips a foreign key.
        let position = |t: &str| lines.iter().position(|l| l.starts_with(&format!(r#"{{"table":"{t}""#)));
        assert!(position("suppliers") < position("supplier_capacities"));
        assert!(position("tenders") < position("campaigns"));

        with_each_database_url(move |backend, url| {
            let exported = exported.clone();
            async move {
                let target = open(&url).await?;
                // A file cut short is refused and leaves nothing behind.
                let cut = &exported[..exported.len() - 30];
                let refused = target.import_all(&mut &cut[..], false).await.expect_err("a truncated file");
                assert!(refused.to_string().contains("line") || refused.to_string().contains("cut short"), "{refused}");

                let summary = target.import_all(&mut &exported[..], false).await?;
                assert!(summary.rows() > 10, "{summary:?}");
                let again = String::from_utf8(export(&target).await?).expect("UTF-8");
                let first = String::from_utf8(exported.to_vec()).expect("UTF-8");
                let differ = first.lines().zip(again.lines()).find(|(a, b)| a != b);
                assert_eq!(differ, None, "[{backend}] re-export differs");
                assert_eq!(again.as_bytes(), &exported[..], "[{backend}] re-export differs");

                // A database in use is refused, and nothing is added.
                let again = target.import_all(&mut &exported[..], false).await.expect_err("not empty");
                assert!(again.to_string().contains("not empty"), "{again}");
                let partial = target.import_all(&mut &exported[..], true).await.expect_err("collides");
                assert!(partial.to_string().contains("refused the row"), "{partial}");
                assert_eq!(export(&target).await?, *exported, "[{backend}] a refused import wrote something");

                // New rows after the import take new ids (identity sequences follow the import).
                let before = target.outbox().await?.iter().map(|m| m.id).max().unwrap_or_default();
                target
                    .apply(&Changeset {
                        events: vec![(
                            "directory".into(),
                            NewEvent { kind: "note".into(), payload: serde_json::json!({"after": "import"}) },
                        )],
                        outbox: vec![NewOutgoing {
                            key: "after-import".into(),
                            platform: "discord".into(),
                            chat_id: "9".into(),
                            payload: serde_json::json!({"text": "x"}),
                        }],
                        ..Changeset::default()
                    })
                    .await?;
                let after = target.outbox().await?.iter().map(|m| m.id).max().unwrap_or_default();
                assert!(after > before, "[{backend}] new outbox id {after} after {before}");
                target.close().await;
                Ok::<_, StoreError>(())
            }
        })
        .await;
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn an_import_refuses_a_file_of_another_schema_version() {
    with_each_backend(|store| async move {
        let err = store
            .import_all(&mut &b"{\"format\":\"essaim-export\",\"format_version\":1,\"schema_version\":1}\n"[..], false)
            .await
            .expect_err("old schema");
        assert!(err.to_string().contains("schema version 1"), "{err}");
        let err = store.import_all(&mut &b"hello\n"[..], false).await.expect_err("not an export");
        assert!(err.to_string().contains("not JSON"), "{err}");
        Ok::<_, StoreError>(())
    })
    .await;
}
