//! What a user of the store sees, on every backend (SQLite always; PostgreSQL when
//! ESSAIM_TEST_POSTGRES_URL is set): see `essaim_store::testing`.

use chrono::{DateTime, NaiveDate};
use essaim_core::{
    Buyer, Capacities, Contact, GeoPoint, Groupement, GroupementCode, MicroLot, Sector, Shortfall, Siret, Supplier,
    SupplierKind, Tender, TenderLine, TenderRef, Window,
};
use essaim_store::testing::{execute_raw, with_each_backend, with_each_database_url};
use essaim_store::{AllocationRecord, Backend, ImportSummary, Store, StoreError, tender_stream};
use serde_json::json;

const A: &str = "73282932000074";
const B: &str = "12345678900015";
const C: &str = "30000000000004";
const D: &str = "50000000000009";

fn siret(s: &str) -> Siret {
    Siret::parse(s).expect("test SIRET")
}

fn sector(s: &str) -> Sector {
    Sector::parse("sector", s).expect("test sector")
}

fn supplier(s: &str, name: &str, kind: SupplierKind, caps: &[(&str, f64)]) -> Supplier {
    let capacities: Capacities = caps.iter().map(|(k, q)| (sector(k), *q)).collect();
    Supplier::new(
        siret(s),
        name,
        kind,
        GeoPoint::new(45.764_043_123_456_78, 4.835_659_987_654_321).expect("point"),
        40.0,
        10.0,
        capacities,
        None,
    )
    .expect("test supplier")
}

fn directory() -> (Vec<Supplier>, Vec<Groupement>) {
    let mut a = supplier(A, "Atelier Exemple", SupplierKind::Ei, &[("nettoyage", 120.0), ("espaces_verts", 0.1 + 0.2)]);
    a.commune = Some("69123".into());
    a.insertion_rate = Some(1.0 / 3.0);
    a.contact = Contact {
        name: Some("Camille Martin".into()),
        email: Some("camille@example.org".into()),
        phone: Some("+33 4 00 00 00 00".into()),
    };
    // The bid fields round-trip too: its own prices (one for a sector it has no capacity in) and address.
    a.prices = [(sector("nettoyage"), 26.35), (sector("blanchisserie"), 0.1 + 0.2)].into_iter().collect();
    a.address = Some("12 rue de l'Exemple, 69003 Lyon".into());
    let b = supplier(B, "ESAT du Rhône", SupplierKind::Esat, &[("logistique", 1e-9)]);
    let c = supplier(C, "Chantier Vert", SupplierKind::Aci, &[]);
    let g = Groupement::new(
        GroupementCode::parse("code", "G-LYON").expect("code"),
        "Groupement lyonnais",
        siret(A),
        vec![siret(B), siret(A)],
    )
    .expect("groupement");
    // Deliberately not in SIRET order: the store orders.
    (vec![c, a, b], vec![g])
}

fn line(id: &str, sector_name: &str, quantity: f64) -> TenderLine {
    TenderLine::new(
        "lines[0]",
        id,
        sector(sector_name),
        quantity,
        "h",
        GeoPoint::new(45.75, 4.85).expect("site"),
        Some(0.6),
        None,
    )
    .expect("line")
}

fn tender(reference: &str, groupement: Option<&str>) -> Tender {
    let mut first = line("L3", "nettoyage", 120.0);
    first.title = Some("Nettoyage des bureaux".into());
    first.unit_price = Some(27.35);
    first.window = Some(Window {
        start: NaiveDate::from_ymd_opt(2027, 1, 4).expect("date"),
        end: NaiveDate::from_ymd_opt(2027, 6, 30).expect("date"),
    });
    // The procurement rules round-trip too: modes, reservation, clause hours, CPV.
    first = first
        .with_participation(
            "p",
            &[essaim_core::ParticipationMode::MiseADisposition, essaim_core::ParticipationMode::Execution],
        )
        .expect("modes")
        .with_insertion_hours("c", Some(36.5))
        .expect("clause");
    first.reserved = Some(essaim_core::Reservation::Insertion);
    first.cpv = Some(essaim_core::Cpv::parse("cpv", "90911200-8").expect("cpv"));
    first.vat_rate = Some(0.055);
    first.address = Some("Tour Part-Dieu, 129 rue Servient, 69003 Lyon".into());
    let mut second = line("L1", "espaces_verts", 0.1 + 0.2);
    second.unit = "m2".into();
    second.reserved = Some(essaim_core::Reservation::Handicap);
    let third = line("L2", "logistique", 1.0 / 3.0);
    Tender::new(
        TenderRef::parse("ref", reference).expect("ref"),
        "Marché de prestations",
        Buyer::named("Métropole de Lyon", Some(siret(D))),
        Some(DateTime::parse_from_rfc3339("2026-12-15T18:00:00+01:00").expect("deadline")),
        groupement.map(|g| GroupementCode::parse("groupement", g).expect("code")),
        // Line ids deliberately not sorted: the store keeps the buyer's order.
        vec![first, second, third],
    )
    .expect("tender")
}

fn sorted_by_siret(mut suppliers: Vec<Supplier>) -> Vec<Supplier> {
    suppliers.sort_by(|a, b| a.siret.cmp(&b.siret));
    suppliers
}

#[tokio::test]
async fn directory_round_trips_with_capacities_contacts_and_groupement() {
    with_each_backend(|store| async move {
        let (suppliers, groupements) = directory();
        let summary = store.import_directory(&suppliers, &groupements).await?;
        assert_eq!(summary, ImportSummary { inserted: 3, updated: 0, groupements_inserted: 1, groupements_updated: 0 });
        // Floats compare with ==: they must come back bit for bit.
        assert_eq!(store.suppliers().await?, sorted_by_siret(suppliers.clone()));
        assert_eq!(store.supplier(&siret(A)).await?.as_ref(), Some(&suppliers[1]));
        assert_eq!(store.supplier(&siret(D)).await?, None);
        assert_eq!(store.groupements().await?, groupements);
        let code = GroupementCode::parse("code", "G-LYON").expect("code");
        assert_eq!(store.groupement(&code).await?.as_ref(), Some(&groupements[0]));
        let unknown = GroupementCode::parse("code", "G-NOPE").expect("code");
        assert_eq!(store.groupement(&unknown).await?, None);
        let events = store.events("directory").await?;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "directory_imported");
        assert_eq!(events[0].payload["suppliers_inserted"], json!(3));
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn reimporting_updates_records_instead_of_duplicating_them() {
    with_each_backend(|store| async move {
        let (mut suppliers, mut groupements) = directory();
        store.import_directory(&suppliers, &groupements).await?;

        // The same directory, changed: a new name, a capacity dropped, another added, a new member.
        suppliers[1].name = "Atelier Exemple (Villeurbanne)".into();
        suppliers[1].capacities = [(sector("conciergerie"), 15.5)].into_iter().collect();
        suppliers[1].contact = Contact::default();
        suppliers[1].commune = None;
        let extra = supplier(D, "EA Nouvelle", SupplierKind::Ea, &[("textile", 8.0)]);
        suppliers.push(extra);
        groupements[0].members = vec![siret(B), siret(D), siret(A)];
        groupements[0].members.sort();

        let summary = store.import_directory(&suppliers, &groupements).await?;
        assert_eq!(summary, ImportSummary { inserted: 1, updated: 3, groupements_inserted: 0, groupements_updated: 1 });
        let stored = store.suppliers().await?;
        assert_eq!(stored.len(), 4);
        assert_eq!(stored, sorted_by_siret(suppliers));
        assert_eq!(store.groupements().await?, groupements);
        assert_eq!(store.events("directory").await?.len(), 2);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_failing_import_leaves_nothing_behind() {
    with_each_backend(|store| async move {
        let (suppliers, _) = directory();
        // A groupement whose lead is in no directory, after valid suppliers in the same batch.
        let stray = Groupement::new(
            GroupementCode::parse("code", "G-STRAY").expect("code"),
            "",
            siret(D),
            vec![siret(A), siret(D)],
        )
        .expect("groupement");
        let err = store
            .import_directory(&suppliers, std::slice::from_ref(&stray))
            .await
            .expect_err("unknown lead must be refused");
        assert!(matches!(&err, StoreError::UnknownSupplier { siret } if siret == D), "{err:?}");
        assert!(err.to_string().contains(D), "{err}");
        assert!(store.suppliers().await?.is_empty());
        assert!(store.groupements().await?.is_empty());
        assert!(store.events("directory").await?.is_empty());

        // With data already there: a failing re-import changes none of it.
        let (suppliers, groupements) = directory();
        store.import_directory(&suppliers, &groupements).await?;
        let mut changed = suppliers.clone();
        changed[1].name = "Should not stick".into();
        changed[1].capacities.clear();
        assert!(store.import_directory(&changed, &[stray]).await.is_err());
        assert_eq!(store.suppliers().await?, sorted_by_siret(suppliers));
        assert_eq!(store.events("directory").await?.len(), 1);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn capacity_updates_are_recorded_with_their_event() {
    with_each_backend(|store| async move {
        let (suppliers, groupements) = directory();
        store.import_directory(&suppliers, &groupements).await?;
        store.set_capacity(&siret(A), &sector("nettoyage"), 80.25).await?;
        store.set_capacity(&siret(A), &sector("btp"), 12.0).await?;
        let a = store.supplier(&siret(A)).await?.expect("supplier A");
        assert_eq!(a.capacity(&sector("nettoyage")), 80.25);
        assert_eq!(a.capacity(&sector("btp")), 12.0);
        assert_eq!(a.capacity(&sector("espaces_verts")), 0.1 + 0.2);

        let events = store.events(&format!("supplier:{A}")).await?;
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["capacity_updated", "capacity_updated"]);
        assert_eq!(events[0].payload["previous"], json!(120.0));
        assert_eq!(events[0].payload["quantity"], json!(80.25));
        assert_eq!(events[1].payload["previous"], json!(null));

        let err = store.set_capacity(&siret(D), &sector("btp"), 1.0).await.expect_err("unknown supplier");
        assert!(matches!(err, StoreError::UnknownSupplier { .. }), "{err:?}");
        assert!(store.events(&format!("supplier:{D}")).await?.is_empty());
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn tenders_read_back_as_written_with_lines_in_their_order() {
    with_each_backend(|store| async move {
        let (suppliers, groupements) = directory();
        store.import_directory(&suppliers, &groupements).await?;
        let mut t = tender("T-2026-001", Some("G-LYON"));
        t.groupement_kind = Some(essaim_core::GroupementKind::Conjoint);
        t.mandataire_solidaire = true;
        t.buyer.kind = Some(essaim_core::BuyerKind::Public);
        t.buyer.oeth_contribution = Some(185_000.5);
        t.buyer.direct_employment_rate = Some(0.041);
        store.insert_tender(&t).await?;
        let back = store.tender(&t.reference).await?.expect("tender");
        assert_eq!(back, t, "every field, the kind of groupement included");
        let ids: Vec<_> = back.lines.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["L3", "L1", "L2"]);
        // The offset the buyer wrote is kept, not only the instant.
        let deadline = back.deadline.expect("deadline");
        assert_eq!(deadline.to_rfc3339(), "2026-12-15T18:00:00+01:00");

        let other = tender("T-2026-000", None);
        store.insert_tender(&other).await?;
        let list = store.tenders().await?;
        let refs: Vec<_> = list.iter().map(|s| s.reference.as_str()).collect();
        assert_eq!(refs, ["T-2026-000", "T-2026-001"]);
        assert_eq!(list[1].lines, 3);
        assert_eq!(list[1].groupement.as_ref().map(|g| g.as_str()), Some("G-LYON"));
        assert_eq!(list[0].groupement, None);

        let missing = TenderRef::parse("ref", "T-404").expect("ref");
        assert_eq!(store.tender(&missing).await?, None);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_tender_is_never_overwritten_silently() {
    with_each_backend(|store| async move {
        let t = tender("T-2026-002", None);
        store.insert_tender(&t).await?;
        let mut changed = t.clone();
        changed.title = "Autre titre".into();
        changed.lines.truncate(1);

        let err = store.insert_tender(&changed).await.expect_err("duplicate");
        assert!(matches!(&err, StoreError::TenderExists { reference } if reference == "T-2026-002"), "{err:?}");
        assert!(err.to_string().contains("T-2026-002"), "{err}");
        assert_eq!(store.tender(&t.reference).await?, Some(t.clone()));

        // An explicit replacement does overwrite.
        assert!(store.replace_tender(&changed).await?);
        assert_eq!(store.tender(&t.reference).await?, Some(changed));
        // Replacing an unknown tender registers it.
        assert!(!store.replace_tender(&tender("T-2026-003", None)).await?);

        let kinds: Vec<_> = store.events(&tender_stream(&t.reference)).await?.into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["tender_imported", "tender_replaced"]);

        let err = store.insert_tender(&tender("T-2026-004", Some("G-NOPE"))).await.expect_err("unknown groupement");
        assert!(matches!(err, StoreError::UnknownGroupement { .. }), "{err:?}");
        assert_eq!(store.tenders().await?.len(), 2);
        Ok::<_, StoreError>(())
    })
    .await;
}

fn allocation(status: &str, lots: &[(&str, &str, f64, f64)], gap: Option<f64>) -> AllocationRecord {
    AllocationRecord {
        status: status.into(),
        objective: 1234.5 + 1.0 / 3.0,
        gap,
        lots: lots
            .iter()
            .map(|(line, supplier, quantity, distance_km)| MicroLot {
                line: (*line).into(),
                supplier: (*supplier).into(),
                quantity: *quantity,
                distance_km: *distance_km,
                fixed: false,
            })
            .collect(),
        shortfall: vec![
            Shortfall {
                line: "L2".into(),
                quantity: 1.0 / 3.0,
                reason: "no supplier with logistique capacity within reach".into(),
                causes: Vec::new(),
            },
            Shortfall {
                line: "L3".into(),
                quantity: 0.1 + 0.2,
                reason: "capacity exhausted".into(),
                causes: Vec::new(),
            },
        ],
    }
}

#[tokio::test]
async fn allocations_round_trip_in_line_then_supplier_order() {
    with_each_backend(|store| async move {
        let (suppliers, groupements) = directory();
        store.import_directory(&suppliers, &groupements).await?;
        let t = tender("T-2026-005", Some("G-LYON"));
        store.insert_tender(&t).await?;
        assert_eq!(store.latest_allocation(&t.reference).await?, None);

        // Lots given out of order; lines are L3, L1, L2 in the tender.
        let first = allocation(
            "optimal",
            &[("L1", B, 0.1 + 0.2, 8.21), ("L3", B, 40.0, 3.000_000_000_000_000_4), ("L3", A, 80.0, 1.0 / 7.0)],
            None,
        );
        let id1 = store.record_allocation(&t.reference, &first).await?;
        let (id, back) = store.latest_allocation(&t.reference).await?.expect("allocation");
        assert_eq!(id, id1);
        let order: Vec<_> = back.lots.iter().map(|l| (l.line.as_str(), l.supplier.as_str())).collect();
        // L3 is the tender's first line, L1 its second; within a line, by SIRET (B < A).
        assert_eq!(order, [("L3", B), ("L3", A), ("L1", B)]);
        let mut expected = first.clone();
        expected.lots = vec![expected.lots[1].clone(), expected.lots[2].clone(), expected.lots[0].clone()];
        expected.shortfall.reverse();
        assert_eq!(back, expected);

        let second = allocation("feasible", &[("L2", A, 2.0, 0.5)], Some(0.0125));
        let id2 = store.record_allocation(&t.reference, &second).await?;
        assert!(id2 > id1);
        let (id, back) = store.latest_allocation(&t.reference).await?.expect("allocation");
        assert_eq!(id, id2);
        assert_eq!(back.gap, Some(0.0125));
        assert_eq!(back.status, "feasible");

        let events = store.events(&tender_stream(&t.reference)).await?;
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["tender_imported", "allocation_recorded", "allocation_recorded"]);
        assert_eq!(events[2].payload["allocation"], json!(id2));
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn allocations_must_name_a_known_tender_line_and_supplier() {
    with_each_backend(|store| async move {
        let (suppliers, groupements) = directory();
        store.import_directory(&suppliers, &groupements).await?;
        let t = tender("T-2026-006", None);
        store.insert_tender(&t).await?;

        let missing = TenderRef::parse("ref", "T-404").expect("ref");
        let err =
            store.record_allocation(&missing, &allocation("optimal", &[], None)).await.expect_err("unknown tender");
        assert!(matches!(err, StoreError::UnknownTender { .. }), "{err:?}");

        let err = store
            .record_allocation(&t.reference, &allocation("optimal", &[("L1", D, 1.0, 1.0)], None))
            .await
            .expect_err("unknown supplier");
        assert!(matches!(&err, StoreError::UnknownSupplier { siret } if siret == D), "{err:?}");

        let err = store
            .record_allocation(&t.reference, &allocation("optimal", &[("L9", A, 1.0, 1.0)], None))
            .await
            .expect_err("unknown line");
        assert!(matches!(&err, StoreError::UnknownLine { line, .. } if line == "L9"), "{err:?}");

        assert_eq!(store.latest_allocation(&t.reference).await?, None);
        assert_eq!(store.events(&tender_stream(&t.reference)).await?.len(), 1);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn events_come_back_in_order_and_cannot_be_rewritten() {
    with_each_backend(|store| async move {
        let s1 = store.append_event("campaign:T-1", "opened", &json!({"by": "facilitator"})).await?;
        let other = store.append_event("campaign:T-2", "opened", &json!({})).await?;
        let s2 = store.append_event("campaign:T-1", "offer_sent", &json!({"lot": 1, "quantity": 0.1 + 0.2})).await?;
        let s3 = store.append_event("campaign:T-1", "accepted", &json!(["a", 2, null])).await?;
        assert!(s1 < other && other < s2 && s2 < s3);

        let events = store.events("campaign:T-1").await?;
        let seqs: Vec<_> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [s1, s2, s3]);
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["opened", "offer_sent", "accepted"]);
        assert_eq!(events[1].payload, json!({"lot": 1, "quantity": 0.1 + 0.2}));
        assert_eq!(events[2].payload, json!(["a", 2, null]));
        assert!(events.iter().all(|e| e.stream == "campaign:T-1"));
        assert!(events[0].recorded_at <= events[2].recorded_at);
        assert!(store.events("campaign:none").await?.is_empty());

        // The database itself refuses to rewrite history.
        let update = execute_raw(&store, "UPDATE events SET kind = 'forged'").await;
        let err = update.expect_err("UPDATE on events must be refused");
        assert!(err.to_string().contains("append-only"), "{err}");
        let delete = execute_raw(&store, "DELETE FROM events").await;
        assert!(delete.expect_err("DELETE refused").to_string().contains("append-only"));
        // The one rewrite an erasure may do (count a redaction, keep place, stream, kind, time) is not a
        // way to change anything else, nor to skip the count.
        for forged in [
            "UPDATE events SET kind = 'forged', redactions = redactions + 1",
            "UPDATE events SET stream = 'campaign:T-9', redactions = redactions + 1",
            "UPDATE events SET payload = '{}', redactions = redactions + 2",
            "UPDATE events SET payload = '{}'",
        ] {
            let err = execute_raw(&store, forged).await.expect_err(forged);
            assert!(err.to_string().contains("append-only"), "{forged}: {err}");
        }
        assert_eq!(store.events("campaign:T-1").await?, events);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn damaged_rows_are_reported_not_unwrapped() {
    with_each_backend(|store| async move {
        let (suppliers, groupements) = directory();
        store.import_directory(&suppliers, &groupements).await?;
        execute_raw(&store, &format!("UPDATE suppliers SET kind = 'SCOP' WHERE siret = '{B}'")).await?;
        let err = store.suppliers().await.expect_err("corrupt kind");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(B) && text.contains("SCOP"), "{text}");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn data_survives_closing_and_reopening_the_database() {
    with_each_database_url(|backend, url| async move {
        let (suppliers, groupements) = directory();
        let t = tender("T-2026-007", Some("G-LYON"));
        {
            let store = Store::connect(&url).await?;
            assert_eq!(store.backend(), backend);
            store.migrate().await?;
            store.import_directory(&suppliers, &groupements).await?;
            store.insert_tender(&t).await?;
            store.record_allocation(&t.reference, &allocation("optimal", &[("L3", A, 5.0, 1.5)], None)).await?;
            store.close().await;
        }
        let store = Store::connect(&url).await?;
        store.migrate().await?; // idempotent at every start
        assert_eq!(store.suppliers().await?, sorted_by_siret(suppliers));
        assert_eq!(store.groupements().await?, groupements);
        assert_eq!(store.tender(&t.reference).await?, Some(t.clone()));
        let (_, record) = store.latest_allocation(&t.reference).await?.expect("allocation");
        assert_eq!(record.lots.len(), 1);
        assert_eq!(store.events(&tender_stream(&t.reference)).await?.len(), 2);
        store.close().await;
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn sqlite_creates_the_file_and_its_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("deeper").join("essaim.db");
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.expect("migrate");
    store.close().await;
    assert!(path.exists());
}

#[tokio::test]
async fn in_memory_sqlite_works_for_a_whole_session() {
    let store = Store::connect("sqlite::memory:").await.expect("connect");
    store.migrate().await.expect("migrate");
    let (suppliers, groupements) = directory();
    store.import_directory(&suppliers, &groupements).await.expect("import");
    assert_eq!(store.suppliers().await.expect("read").len(), 3);
}

#[tokio::test]
async fn unknown_urls_are_refused_without_echoing_secrets() {
    let err = Store::connect("mysql://root:hunter2@localhost/essaim").await.expect_err("mysql is not supported");
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("mysql") && text.contains("sqlite://"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[tokio::test]
async fn the_helper_covers_postgres_whenever_it_is_configured() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    with_each_backend(move |store| {
        let record = Arc::clone(&record);
        async move {
            record.lock().expect("lock").push(store.backend());
            Ok::<_, StoreError>(())
        }
    })
    .await;
    let seen = seen.lock().expect("lock").clone();
    let postgres_configured =
        std::env::var(essaim_store::testing::POSTGRES_URL_VAR).is_ok_and(|u| !u.trim().is_empty());
    if postgres_configured {
        assert_eq!(seen, [Backend::Sqlite, Backend::Postgres]);
    } else {
        assert_eq!(seen, [Backend::Sqlite]);
    }
}
