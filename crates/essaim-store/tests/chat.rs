//! Chat accounts, invites, the inbox, campaigns, the outbox and jobs, as the chat engine and the
//! dispatcher use them, on every backend (SQLite always; PostgreSQL when ESSAIM_TEST_POSTGRES_URL is
//! set): see `essaim_store::testing`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use essaim_core::{
    Buyer, Capacities, GeoPoint, Role, Sector, Siret, Supplier, SupplierKind, Tender, TenderLine, TenderRef,
};
use essaim_store::testing::{execute_raw, with_each_backend};
use essaim_store::{
    ACCOUNT_FORGOTTEN, ACCOUNTS_STREAM, AccountLink, Applied, Backend, CampaignAppend, CapacityChange, Changeset,
    Forget, INVITES_STREAM, InboxKey, NewEvent, NewOutgoing, OutboxStatus, PriceChange, Store, StoreError,
    campaign_stream, supplier_stream,
};
use serde_json::json;

const A: &str = "73282932000074";
const B: &str = "12345678900015";
const T: &str = "T-2026-001";
const LEASE: Duration = Duration::from_secs(60);

fn siret(s: &str) -> Siret {
    Siret::parse(s).expect("test SIRET")
}

fn sector(s: &str) -> Sector {
    Sector::parse("sector", s).expect("test sector")
}

fn tender_ref(s: &str) -> TenderRef {
    TenderRef::parse("ref", s).expect("test ref")
}

/// One supplier (A) and one tender (T) in the database.
async fn fixtures(store: &Store) -> Result<(), StoreError> {
    let capacities: Capacities = [(sector("nettoyage"), 120.0)].into_iter().collect();
    let supplier = Supplier::new(
        siret(A),
        "Atelier Exemple",
        SupplierKind::Ei,
        GeoPoint::new(45.76, 4.83).expect("point"),
        40.0,
        10.0,
        capacities,
        None,
    )
    .expect("supplier");
    store.import_directory(&[supplier], &[]).await?;
    let line = TenderLine::new(
        "lines[0]",
        "L1",
        sector("nettoyage"),
        120.0,
        "h",
        GeoPoint::new(45.75, 4.85).expect("site"),
        None,
        None,
    )
    .expect("line");
    let tender =
        Tender::new(tender_ref(T), "Nettoyage", Buyer::named("Métropole de Lyon", None), None, None, vec![line])
            .expect("tender");
    store.insert_tender(&tender).await
}

fn inbox(update_id: &str) -> Option<InboxKey> {
    Some(InboxKey { platform: "telegram".into(), update_id: update_id.into() })
}

fn event(kind: &str) -> NewEvent {
    NewEvent { kind: kind.into(), payload: json!({ "kind": kind }) }
}

fn append(expected_version: i64, status: &str, kinds: &[&str]) -> Option<CampaignAppend> {
    Some(CampaignAppend {
        tender: tender_ref(T),
        expected_version,
        status: status.into(),
        events: kinds.iter().map(|k| event(k)).collect(),
        holdings: Vec::new(),
        bookings: Vec::new(),
    })
}

fn outgoing(key: &str, chat_id: &str) -> NewOutgoing {
    NewOutgoing {
        key: key.into(),
        platform: "telegram".into(),
        chat_id: chat_id.into(),
        payload: json!({ "platform": "telegram", "chat_id": chat_id, "text": key }),
    }
}

fn link(user_id: &str, role: Role, supplier: Option<&str>) -> AccountLink {
    AccountLink {
        platform: "telegram".into(),
        user_id: user_id.into(),
        chat_id: format!("chat-{user_id}"),
        role,
        supplier: supplier.map(siret),
        buyer: None,
        language: Some("fr".into()),
        display_name: Some(format!("User {user_id}")),
        scope: None,
    }
}

/// Queues each message in its own decision.
async fn queue(store: &Store, messages: Vec<NewOutgoing>) -> Result<(), StoreError> {
    let applied = store.apply(&Changeset { outbox: messages, ..Changeset::default() }).await?;
    assert_eq!(applied, Applied::Done);
    Ok(())
}

#[tokio::test]
async fn apply_writes_everything_or_nothing() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        assert_eq!(store.campaign_log(&tender_ref(T)).await?.version, 0);
        assert!(store.campaign_log(&tender_ref(T)).await?.events.is_empty());

        let first = Changeset {
            inbox: inbox("u1"),
            campaign: append(0, "allocating", &["campaign_started", "allocation_proposed"]),
            events: vec![("audit".into(), event("noted"))],
            outbox: vec![outgoing("k1", "100")],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&first).await?, Applied::Done);
        let log = store.campaign_log(&tender_ref(T)).await?;
        assert_eq!(log.version, 2);
        let kinds: Vec<_> = log.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["campaign_started", "allocation_proposed"]);
        assert!(log.events.iter().all(|e| e.stream == campaign_stream(&tender_ref(T))));
        assert_eq!(log.events[0].payload, json!({ "kind": "campaign_started" }));
        let campaigns = store.campaigns().await?;
        assert_eq!(campaigns.len(), 1);
        assert_eq!(
            (campaigns[0].tender.as_str(), campaigns[0].status.as_str(), campaigns[0].version),
            (T, "allocating", 2)
        );

        // A stale version: nothing at all is written, not even the inbox row.
        let stale = Changeset {
            inbox: inbox("u2"),
            campaign: append(1, "offering", &["offers_sent"]),
            events: vec![("audit".into(), event("noted again"))],
            outbox: vec![outgoing("k2", "100")],
            link: Some(link("7", Role::Facilitator, None)),
            ..Changeset::default()
        };
        assert_eq!(store.apply(&stale).await?, Applied::Conflict);
        // A campaign that already started cannot be started again.
        let restart =
            Changeset { inbox: inbox("u2"), campaign: append(0, "allocating", &["x"]), ..Changeset::default() };
        assert_eq!(store.apply(&restart).await?, Applied::Conflict);
        // The right version but a refusal later in the transaction (unknown invite): the campaign
        // step already done is rolled back too.
        let late = Changeset {
            inbox: inbox("u3"),
            campaign: append(2, "offering", &["offers_sent"]),
            consume_invite: Some("NO-SUCH-CODE".into()),
            outbox: vec![outgoing("k3", "100")],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&late).await?, Applied::Conflict);

        for id in ["u2", "u3"] {
            assert!(!store.is_duplicate(&InboxKey { platform: "telegram".into(), update_id: id.into() }).await?);
        }
        assert!(store.is_duplicate(&InboxKey { platform: "telegram".into(), update_id: "u1".into() }).await?);
        let log = store.campaign_log(&tender_ref(T)).await?;
        assert_eq!((log.version, log.events.len()), (2, 2));
        assert_eq!(store.campaigns().await?[0].status, "allocating");
        assert_eq!(store.events("audit").await?.len(), 1);
        let keys: Vec<_> = store.outbox().await?.into_iter().map(|m| m.key).collect();
        assert_eq!(keys, ["k1"]);
        assert_eq!(store.account("telegram", "7").await?, None);

        // The same decision at the right version goes through.
        assert_eq!(store.apply(&Changeset { consume_invite: None, ..late }).await?, Applied::Done);
        assert_eq!(store.campaign_log(&tender_ref(T)).await?.version, 3);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_second_delivery_of_an_update_changes_nothing() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        let changes = Changeset {
            inbox: inbox("42"),
            campaign: append(0, "allocating", &["campaign_started"]),
            outbox: vec![outgoing("k1", "100")],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&changes).await?, Applied::Done);
        let outbox_before = store.outbox().await?;

        // Same update id, whatever it carries this time.
        let again = Changeset {
            inbox: inbox("42"),
            campaign: append(1, "offering", &["offers_sent"]),
            events: vec![("audit".into(), event("noted"))],
            outbox: vec![outgoing("k2", "100")],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&again).await?, Applied::Duplicate);
        assert_eq!(store.campaign_log(&tender_ref(T)).await?.version, 1);
        assert_eq!(store.outbox().await?, outbox_before);
        assert!(store.events("audit").await?.is_empty());

        // The same update id on another platform is another update.
        let discord = Changeset {
            inbox: Some(InboxKey { platform: "discord".into(), update_id: "42".into() }),
            ..Changeset::default()
        };
        assert_eq!(store.apply(&discord).await?, Applied::Done);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_decisions_on_one_version_let_exactly_one_through() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        assert_eq!(
            store.apply(&Changeset { campaign: append(0, "a", &["e0"]), ..Changeset::default() }).await?,
            Applied::Done
        );
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8 {
            let store = store.clone();
            tasks.spawn(async move {
                let changes = Changeset {
                    inbox: inbox(&format!("u{i}")),
                    campaign: append(1, &format!("s{i}"), &["e1", "e2"]),
                    outbox: vec![outgoing(&format!("k{i}"), "100")],
                    ..Changeset::default()
                };
                store.apply(&changes).await
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            outcomes.push(joined.expect("task")?);
        }
        assert_eq!(outcomes.iter().filter(|o| **o == Applied::Done).count(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| **o == Applied::Conflict).count(), 7, "{outcomes:?}");
        let log = store.campaign_log(&tender_ref(T)).await?;
        assert_eq!((log.version, log.events.len()), (3, 3));
        assert_eq!(store.outbox().await?.len(), 1);

        // Starting a campaign concurrently: one start wins too.
        let mut tasks = tokio::task::JoinSet::new();
        let other = tender_ref("T-2026-002");
        let mut tender = store.tender(&tender_ref(T)).await?.expect("tender");
        tender.reference = other.clone();
        store.insert_tender(&tender).await?;
        for i in 0..8 {
            let (store, other) = (store.clone(), other.clone());
            tasks.spawn(async move {
                let changes = Changeset {
                    campaign: Some(CampaignAppend {
                        tender: other,
                        expected_version: 0,
                        status: "started".into(),
                        events: vec![event(&format!("start{i}"))],
                        holdings: Vec::new(),
                        bookings: Vec::new(),
                    }),
                    ..Changeset::default()
                };
                store.apply(&changes).await
            });
        }
        let mut done = 0;
        while let Some(joined) = tasks.join_next().await {
            if joined.expect("task")? == Applied::Done {
                done += 1;
            }
        }
        assert_eq!(done, 1);
        assert_eq!(store.campaign_log(&other).await?.events.len(), 1);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_campaign_needs_a_registered_tender() {
    with_each_backend(|store| async move {
        let changes = Changeset { inbox: inbox("1"), campaign: append(0, "a", &["e"]), ..Changeset::default() };
        let err = store.apply(&changes).await.expect_err("no tender");
        assert!(matches!(&err, StoreError::UnknownTender { reference } if reference == T), "{err:?}");
        assert!(!store.is_duplicate(&InboxKey { platform: "telegram".into(), update_id: "1".into() }).await?);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn an_invite_links_one_account_once_and_not_after_it_expired() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        let err =
            store.create_invite("NOPE", Role::Supplier, Some(&siret(B)), None).await.expect_err("unknown supplier");
        assert!(matches!(&err, StoreError::UnknownSupplier { siret } if siret == B), "{err:?}");
        assert_eq!(store.invite("NOPE").await?, None);

        let expires = Utc::now() + TimeDelta::days(7);
        store.create_invite("ABC123", Role::Supplier, Some(&siret(A)), Some(expires)).await?;
        let invite = store.invite("ABC123").await?.expect("invite");
        assert_eq!((invite.role.as_str(), invite.supplier.as_ref()), ("supplier", Some(&siret(A))));
        assert_eq!((invite.used_at, invite.used_by.as_deref()), (None, None));
        assert!(invite.expires_at.is_some_and(|t| (t - expires).abs() < TimeDelta::milliseconds(1)));
        let created = store.events(INVITES_STREAM).await?;
        assert_eq!(created.len(), 1);
        assert!(!created[0].payload.to_string().contains("ABC123"), "the code is a secret: {}", created[0].payload);

        let start = |update: &str, user: &str| Changeset {
            inbox: inbox(update),
            consume_invite: Some("ABC123".into()),
            link: Some(link(user, Role::Supplier, Some(A))),
            outbox: vec![outgoing(&format!("welcome:{user}"), &format!("chat-{user}"))],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&start("1", "42")).await?, Applied::Done);
        let invite = store.invite("ABC123").await?.expect("invite");
        assert!(invite.used_at.is_some());
        assert_eq!(invite.used_by.as_deref(), Some("telegram:42"));
        let account = store.account("telegram", "42").await?.expect("linked");
        assert_eq!((account.chat_id.as_str(), account.role.as_str()), ("chat-42", "supplier"));
        assert_eq!(account.supplier, Some(siret(A)));
        assert_eq!((account.language.as_deref(), account.display_name.as_deref()), (Some("fr"), Some("User 42")));

        // Used: another user cannot take it, and nothing of that decision is written.
        assert_eq!(store.apply(&start("2", "43")).await?, Applied::Conflict);
        assert_eq!(store.account("telegram", "43").await?, None);
        assert_eq!(store.outbox().await?.len(), 1);

        // Expired: refused.
        store.create_invite("OLD", Role::Facilitator, None, Some(Utc::now() - TimeDelta::minutes(1))).await?;
        let late = Changeset {
            consume_invite: Some("OLD".into()),
            link: Some(link("44", Role::Facilitator, None)),
            ..Changeset::default()
        };
        assert_eq!(store.apply(&late).await?, Applied::Conflict);
        assert_eq!(store.account("telegram", "44").await?, None);
        assert_eq!(store.invite("OLD").await?.expect("invite").used_at, None);

        // Without expiry, usable once.
        store.create_invite("FAC", Role::Facilitator, None, None).await?;
        let fac = Changeset {
            consume_invite: Some("FAC".into()),
            link: Some(link("45", Role::Facilitator, None)),
            ..Changeset::default()
        };
        assert_eq!(store.apply(&fac).await?, Applied::Done);
        assert_eq!(store.apply(&fac).await?, Applied::Conflict);
        let kinds: Vec<_> = store.events(INVITES_STREAM).await?.into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["invite_created", "invite_used", "invite_created", "invite_created", "invite_used"]);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_users_racing_for_one_invite_link_one_account() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        store.create_invite("RACE", Role::Supplier, Some(&siret(A)), None).await?;
        let mut tasks = tokio::task::JoinSet::new();
        for user in 0..6 {
            let store = store.clone();
            tasks.spawn(async move {
                let changes = Changeset {
                    consume_invite: Some("RACE".into()),
                    link: Some(link(&user.to_string(), Role::Supplier, Some(A))),
                    ..Changeset::default()
                };
                store.apply(&changes).await
            });
        }
        let mut done = 0;
        while let Some(joined) = tasks.join_next().await {
            if joined.expect("task")? == Applied::Done {
                done += 1;
            }
        }
        assert_eq!(done, 1);
        assert_eq!(store.accounts_for_supplier(&siret(A)).await?.len(), 1);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_forgotten_account_leaves_its_commitments_under_a_pseudonym_and_nothing_else() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        store.create_invite("CODE42", Role::Supplier, Some(&siret(A)), None).await?;
        let linked = Changeset {
            inbox: inbox("1"),
            consume_invite: Some("CODE42".into()),
            link: Some(link("42", Role::Supplier, Some(A))),
            outbox: vec![outgoing("welcome:42", "chat-42")],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&linked).await?, Applied::Done);
        // The person answered an offer: the campaign log names them as the actor.
        let by = json!({"channel": "telegram", "user_id": "42", "chat_id": "chat-42", "name": "User 42"});
        let answered = NewEvent {
            kind: "answered".into(),
            payload: json!({"type": "answered", "offer": 1, "supplier": A, "quantity": 42.0, "by": by}),
        };
        let other_by = json!({"channel": "telegram", "user_id": "7", "chat_id": "chat-7", "name": "Other"});
        let launched = NewEvent { kind: "launched".into(), payload: json!({"type": "launched", "by": other_by}) };
        let campaign =
            CampaignAppend { events: vec![launched, answered], ..append(0, "running", &[]).expect("append") };
        let decided = Changeset { campaign: Some(campaign), ..Changeset::default() };
        assert_eq!(store.apply(&decided).await?, Applied::Done);
        queue(&store, vec![outgoing("offer:42", "chat-42"), outgoing("note:7", "chat-7")]).await?;

        let forget =
            Forget { platform: "telegram".into(), user_id: "42".into(), pseudonym: "anonyme-TEST234567".into() };
        let erase = Changeset {
            inbox: inbox("2"),
            forget: Some(forget.clone()),
            outbox: vec![outgoing("forgotten:42", "chat-42")],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&erase).await?, Applied::Done);

        assert_eq!(store.account("telegram", "42").await?, None, "the account is gone");
        let keys: Vec<String> = store.outbox().await?.into_iter().map(|m| m.key).collect();
        assert_eq!(keys, ["note:7", "forgotten:42"], "the chat's messages went, the erasure's reply leaves");
        let log = store.events(&campaign_stream(&tender_ref(T))).await?;
        assert_eq!(log[1].payload["by"], json!({"channel": "telegram", "user_id": "anonyme-TEST234567"}));
        assert_eq!((log[1].payload["supplier"].as_str(), log[1].payload["quantity"].as_f64()), (Some(A), Some(42.0)));
        assert_eq!(log[0].payload["by"], other_by, "someone else is left alone");
        let everything = [ACCOUNTS_STREAM, INVITES_STREAM, &campaign_stream(&tender_ref(T))];
        for stream in everything {
            for event in store.events(stream).await? {
                let text = event.payload.to_string();
                assert!(!text.contains("chat-42") && !text.contains("User 42"), "{stream}: {text}");
                assert!(!text.contains("\"42\"") && !text.contains("telegram:42"), "{stream}: {text}");
            }
        }
        let invite = store.invite("CODE42").await?.expect("invite");
        assert_eq!(invite.used_by.as_deref(), Some("telegram:anonyme-TEST234567"));
        let accounts = store.events(ACCOUNTS_STREAM).await?;
        let forgotten = accounts.iter().find(|e| e.kind == ACCOUNT_FORGOTTEN).expect("erasure recorded");
        assert_eq!(forgotten.payload["user_id"], "anonyme-TEST234567");
        assert_eq!(forgotten.payload["supplier"], A);
        assert_eq!(forgotten.payload["messages_deleted"], 2, "welcome and offer");
        assert_eq!(
            forgotten.payload["redacted_events"].as_array().map(Vec::len),
            Some(3),
            "linked, invite used, answered"
        );

        // A second erasure of the same person finds no account: nothing written, not even its reply.
        let again = Changeset {
            inbox: inbox("3"),
            forget: Some(forget),
            outbox: vec![outgoing("forgotten-again:42", "chat-42")],
            ..Changeset::default()
        };
        assert_eq!(store.apply(&again).await?, Applied::Conflict);
        assert_eq!(store.outbox().await?.len(), 2);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn accounts_are_found_by_supplier_and_role_and_remember_what_they_await() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        let changes = |l: AccountLink| Changeset { link: Some(l), ..Changeset::default() };
        assert_eq!(store.apply(&changes(link("9", Role::Supplier, Some(A)))).await?, Applied::Done);
        assert_eq!(store.apply(&changes(link("10", Role::Supplier, Some(A)))).await?, Applied::Done);
        assert_eq!(store.apply(&changes(link("11", Role::Facilitator, None))).await?, Applied::Done);
        let err = store.apply(&changes(link("12", Role::Supplier, Some(B)))).await.expect_err("unknown supplier");
        assert!(matches!(err, StoreError::UnknownSupplier { .. }), "{err:?}");

        let users =
            |accounts: Vec<essaim_store::ChatAccount>| accounts.into_iter().map(|a| a.user_id).collect::<Vec<_>>();
        assert_eq!(users(store.accounts_for_supplier(&siret(A)).await?), ["10", "9"]);
        assert_eq!(users(store.accounts_with_role(Role::Facilitator).await?), ["11"]);
        assert!(store.accounts_with_role(Role::Buyer).await?.is_empty());

        let awaiting = |user: &str, data: Option<&str>| Changeset {
            awaiting: Some(("telegram".into(), user.into(), data.map(str::to_owned))),
            ..Changeset::default()
        };
        assert_eq!(store.apply(&awaiting("9", Some("part:17"))).await?, Applied::Done);
        assert_eq!(store.account("telegram", "9").await?.expect("account").awaiting.as_deref(), Some("part:17"));
        assert_eq!(store.apply(&awaiting("9", None)).await?, Applied::Done);
        assert_eq!(store.account("telegram", "9").await?.expect("account").awaiting, None);
        // Nobody to remember it for.
        assert_eq!(store.apply(&awaiting("404", Some("part:1"))).await?, Applied::Conflict);

        // Linking again updates the account, keeps when it was first linked, clears what it awaited.
        assert_eq!(store.apply(&awaiting("9", Some("part:18"))).await?, Applied::Done);
        let before = store.account("telegram", "9").await?.expect("account");
        let mut again = link("9", Role::Facilitator, None);
        again.chat_id = "new-chat".into();
        assert_eq!(store.apply(&changes(again)).await?, Applied::Done);
        let after = store.account("telegram", "9").await?.expect("account");
        assert_eq!(
            (after.chat_id.as_str(), after.role.as_str(), after.supplier.as_ref()),
            ("new-chat", "facilitator", None)
        );
        assert_eq!((after.awaiting.as_ref(), after.linked_at), (None, before.linked_at));
        assert_eq!(users(store.accounts_with_role(Role::Facilitator).await?), ["11", "9"]);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn an_unknown_stored_role_is_reported_with_its_row_not_taken_for_no_role() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        let changes = Changeset { link: Some(link("9", Role::Supplier, Some(A))), ..Changeset::default() };
        assert_eq!(store.apply(&changes).await?, Applied::Done);
        store.create_invite("CODE9", Role::Supplier, Some(&siret(A)), None).await?;
        // A role this version does not know (a newer version wrote it, or a hand edit): the schema's CHECK
        // forbids it, so it is lifted for the test.
        let forge = match store.backend() {
            Backend::Sqlite => vec![
                "PRAGMA ignore_check_constraints = ON; \
                 UPDATE chat_accounts SET role = 'admin'; UPDATE invites SET role = 'admin'; \
                 PRAGMA ignore_check_constraints = OFF",
            ],
            Backend::Postgres => vec![
                "ALTER TABLE chat_accounts DROP CONSTRAINT chat_accounts_role_check",
                "ALTER TABLE invites DROP CONSTRAINT invites_role_check",
                "UPDATE chat_accounts SET role = 'admin'",
                "UPDATE invites SET role = 'admin'",
            ],
        };
        for statement in forge {
            execute_raw(&store, statement).await?;
        }
        let err = store.account("telegram", "9").await.expect_err("unknown role");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("telegram user 9") && err.to_string().contains("« admin »"), "{err}");
        let err = store.accounts_for_supplier(&siret(A)).await.expect_err("unknown role");
        assert!(err.to_string().contains("« admin »"), "{err}");
        let err = store.invite("CODE9").await.expect_err("unknown role");
        assert!(matches!(err, StoreError::Corrupt { .. }) && err.to_string().contains("« admin »"), "{err:?}");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_capacity_change_is_recorded_like_set_capacity() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        let change = |s: &str, q: f64| Changeset {
            inbox: inbox(&format!("cap-{s}-{q}")),
            capacity: Some(CapacityChange { supplier: siret(s), sector: sector("nettoyage"), quantity: q }),
            ..Changeset::default()
        };
        assert_eq!(store.apply(&change(A, 80.5)).await?, Applied::Done);
        let supplier = store.supplier(&siret(A)).await?.expect("supplier");
        assert_eq!(supplier.capacities.get(&sector("nettoyage")), Some(&80.5));
        let events = store.events(&supplier_stream(&siret(A))).await?;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "capacity_updated");
        assert_eq!(events[0].payload["previous"], json!(120.0));
        assert_eq!(events[0].payload["quantity"], json!(80.5));

        let err = store.apply(&change(B, 1.0)).await.expect_err("unknown supplier");
        assert!(matches!(err, StoreError::UnknownSupplier { .. }), "{err:?}");
        assert!(!store.is_duplicate(&inbox("cap-12345678900015-1").expect("key")).await?);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn price_updates_are_written_with_their_event_and_removed_by_none() {
    with_each_backend(|store| async move {
        fixtures(&store).await?;
        let change = |s: &str, key: &str, p: Option<f64>| Changeset {
            inbox: inbox(key),
            price: Some(PriceChange { supplier: siret(s), sector: sector("nettoyage"), unit_price: p }),
            ..Changeset::default()
        };
        assert_eq!(store.apply(&change(A, "price-1", Some(26.35))).await?, Applied::Done);
        assert_eq!(store.supplier(&siret(A)).await?.expect("A").prices.get(&sector("nettoyage")), Some(&26.35));
        // A second delivery of the same update changes nothing.
        assert_eq!(store.apply(&change(A, "price-1", Some(99.0))).await?, Applied::Duplicate);
        assert_eq!(store.supplier(&siret(A)).await?.expect("A").prices.get(&sector("nettoyage")), Some(&26.35));
        assert_eq!(store.apply(&change(A, "price-2", Some(27.0))).await?, Applied::Done);
        assert_eq!(store.apply(&change(A, "price-3", None)).await?, Applied::Done);
        assert!(store.supplier(&siret(A)).await?.expect("A").prices.is_empty(), "removed");
        let events = store.events(&supplier_stream(&siret(A))).await?;
        let trail: Vec<(serde_json::Value, serde_json::Value)> =
            events.iter().map(|e| (e.payload["previous"].clone(), e.payload["unit_price"].clone())).collect();
        assert!(events.iter().all(|e| e.kind == "price_updated"));
        assert_eq!(trail, vec![(json!(null), json!(26.35)), (json!(26.35), json!(27.0)), (json!(27.0), json!(null))]);

        let err = store.apply(&change(B, "price-4", Some(1.0))).await.expect_err("unknown supplier");
        assert!(matches!(err, StoreError::UnknownSupplier { .. }), "{err:?}");
        assert!(!store.is_duplicate(&inbox("price-4").expect("key")).await?, "nothing of it recorded");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_key_already_queued_is_not_queued_twice() {
    with_each_backend(|store| async move {
        queue(&store, vec![outgoing("reminder:T:1", "100")]).await?;
        let mut again = outgoing("reminder:T:1", "100");
        again.payload = json!({ "text": "changed" });
        queue(&store, vec![again, outgoing("reminder:T:2", "100")]).await?;
        let rows = store.outbox().await?;
        let keys: Vec<_> = rows.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["reminder:T:1", "reminder:T:2"]);
        assert_eq!(rows[0].payload["text"], json!("reminder:T:1"));
        assert_eq!((rows[0].status, rows[0].attempts), (OutboxStatus::Pending, 0));

        // Even once sent, the key stays taken.
        let claimed = store.claim_outbox(Utc::now(), 10, LEASE).await?;
        store.outbox_sent(claimed[0].id, Some("m1")).await?;
        queue(&store, vec![outgoing("reminder:T:1", "100")]).await?;
        assert_eq!(store.outbox().await?.len(), 2);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_hand_out_the_same_row() {
    with_each_backend(|store| async move {
        let messages: Vec<_> = (0..200).map(|i| outgoing(&format!("m{i}"), &format!("chat{i}"))).collect();
        queue(&store, messages).await?;
        let now = Utc::now() + TimeDelta::seconds(1);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let store = store.clone();
            tasks.spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_outbox(now, 7, LEASE).await?;
                    if batch.is_empty() {
                        return Ok::<_, StoreError>(mine);
                    }
                    assert!(batch.iter().all(|m| m.attempts == 1 && m.claimed_until.is_some()));
                    mine.extend(batch.into_iter().map(|m| m.id));
                    tokio::task::yield_now().await;
                }
            });
        }
        let mut claimed = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            claimed.extend(joined.expect("task")?);
        }
        let distinct: BTreeSet<_> = claimed.iter().copied().collect();
        assert_eq!(claimed.len(), 200, "every row claimed once");
        assert_eq!(distinct.len(), 200, "no row claimed twice");
        assert!(store.claim_outbox(now, 10, LEASE).await?.is_empty());
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_deliver_each_chat_in_order_even_with_concurrent_dispatchers() {
    with_each_backend(|store| async move {
        let messages: Vec<_> = (0..60).map(|i| outgoing(&format!("m{i}"), &format!("chat{}", i % 4))).collect();
        queue(&store, messages).await?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (store, log) = (store.clone(), log.clone());
            tasks.spawn(async move {
                let mut idle = 0;
                while idle < 3 {
                    let batch = store.claim_outbox(Utc::now(), 10, LEASE).await?;
                    if batch.is_empty() {
                        idle += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    idle = 0;
                    let chats: BTreeSet<_> = batch.iter().map(|m| m.chat_id.clone()).collect();
                    assert_eq!(chats.len(), batch.len(), "one row per chat in a claim");
                    for message in batch {
                        log.lock().expect("log").push((message.chat_id.clone(), message.id));
                        store.outbox_sent(message.id, None).await?;
                    }
                }
                Ok::<_, StoreError>(())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined.expect("task")?;
        }
        let log = log.lock().expect("log").clone();
        assert_eq!(log.len(), 60);
        let mut per_chat: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for (chat, id) in log {
            per_chat.entry(chat).or_default().push(id);
        }
        for (chat, ids) in per_chat {
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{chat} out of order: {ids:?}");
        }
        assert!(store.outbox().await?.iter().all(|m| m.status == OutboxStatus::Sent));
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn retry_failed_and_sent_move_a_message_along() {
    with_each_backend(|store| async move {
        queue(&store, vec![outgoing("a", "1"), outgoing("b", "2"), outgoing("c", "3")]).await?;
        let t0 = Utc::now() + TimeDelta::seconds(1);
        let claimed = store.claim_outbox(t0, 10, LEASE).await?;
        let ids: Vec<_> = claimed.iter().map(|m| m.id).collect();
        assert_eq!(claimed.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);

        // a: retried in 5 minutes.
        let later = t0 + TimeDelta::minutes(5);
        store.outbox_retry(ids[0], later, "HTTP 502").await?;
        // b: given up.
        store.outbox_failed(ids[1], "chat not found").await?;
        // c: delivered.
        store.outbox_sent(ids[2], Some("555")).await?;

        let rows = store.outbox().await?;
        assert_eq!((rows[0].status, rows[0].attempts, rows[0].claimed_until), (OutboxStatus::Pending, 1, None));
        assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 502"));
        assert!((rows[0].next_attempt_at - later).abs() < TimeDelta::milliseconds(1));
        assert_eq!((rows[1].status, rows[1].last_error.as_deref()), (OutboxStatus::Failed, Some("chat not found")));
        assert_eq!((rows[2].status, rows[2].platform_message_id.as_deref()), (OutboxStatus::Sent, Some("555")));
        assert!(rows[2].sent_at.is_some() && rows[2].claimed_until.is_none());
        assert_eq!(store.outbox_message_id("c").await?.as_deref(), Some("555"));
        assert_eq!(store.outbox_message_id("a").await?, None);
        assert_eq!(store.outbox_message_id("nope").await?, None);

        // Nothing due before the retry time; then a again, with its second attempt.
        assert!(store.claim_outbox(later - TimeDelta::seconds(1), 10, LEASE).await?.is_empty());
        assert!((store.outbox_next_due().await?.expect("due") - later).abs() < TimeDelta::milliseconds(1));
        let again = store.claim_outbox(later, 10, LEASE).await?;
        assert_eq!(again.iter().map(|m| (m.key.as_str(), m.attempts)).collect::<Vec<_>>(), [("a", 2)]);

        // Released without trying: the attempt is not counted.
        store.outbox_release(ids[0], later).await?;
        assert_eq!(store.outbox().await?[0].attempts, 1);

        // A failed or sent message is not claimed, retried or failed again.
        store.outbox_retry(ids[1], t0, "late").await?;
        store.outbox_failed(ids[2], "late").await?;
        let rows = store.outbox().await?;
        assert_eq!((rows[1].status, rows[2].status), (OutboxStatus::Failed, OutboxStatus::Sent));
        assert!(store.outbox_sent(9999, None).await.is_err(), "no such row");
        assert!(store.outbox_retry(9999, t0, "x").await.is_err(), "no such row");

        store.outbox_sent(ids[0], None).await?;
        assert_eq!(store.outbox_next_due().await?, None);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_claim_respects_the_next_attempt_the_lease_and_the_order_of_a_chat() {
    with_each_backend(|store| async move {
        queue(&store, vec![outgoing("first", "100"), outgoing("second", "100"), outgoing("other", "200")]).await?;
        let t0 = Utc::now() + TimeDelta::seconds(1);
        // Not due yet.
        assert!(store.claim_outbox(t0 - TimeDelta::minutes(1), 10, LEASE).await?.is_empty());

        // One row per chat: the oldest.
        let claimed = store.claim_outbox(t0, 10, LEASE).await?;
        assert_eq!(claimed.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["first", "other"]);
        let until = claimed[0].claimed_until.expect("claimed");
        assert!((until - (t0 + TimeDelta::seconds(60))).abs() < TimeDelta::milliseconds(1));

        // Held for the lease: nobody else gets them, and "second" waits behind "first".
        assert!(store.claim_outbox(t0 + TimeDelta::seconds(30), 10, LEASE).await?.is_empty());
        assert!((store.outbox_next_due().await?.expect("due") - until).abs() < TimeDelta::milliseconds(1));
        // The lease ran out (a dispatcher died): claimable again, a second attempt.
        let reclaimed = store.claim_outbox(t0 + TimeDelta::seconds(61), 10, LEASE).await?;
        assert_eq!(
            reclaimed.iter().map(|m| (m.key.as_str(), m.attempts)).collect::<Vec<_>>(),
            [("first", 2), ("other", 2)]
        );

        // "first" waits for a retry: "second" waits too, in order.
        let retry_at = t0 + TimeDelta::minutes(10);
        store.outbox_retry(reclaimed[0].id, retry_at, "HTTP 500").await?;
        store.outbox_sent(reclaimed[1].id, None).await?;
        assert!(store.claim_outbox(t0 + TimeDelta::minutes(2), 10, LEASE).await?.is_empty());
        assert!((store.outbox_next_due().await?.expect("due") - retry_at).abs() < TimeDelta::milliseconds(1));
        let claimed = store.claim_outbox(retry_at, 10, LEASE).await?;
        assert_eq!(claimed.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["first"]);
        store.outbox_failed(claimed[0].id, "gave up").await?;
        // A failed message does not hold the chat back.
        let claimed = store.claim_outbox(retry_at, 10, LEASE).await?;
        assert_eq!(claimed.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["second"]);

        // The limit, and the platform filter.
        queue(&store, (0..5).map(|i| outgoing(&format!("x{i}"), &format!("c{i}"))).collect()).await?;
        let mut discord = outgoing("d", "300");
        discord.platform = "discord".into();
        queue(&store, vec![discord]).await?;
        let later = Utc::now() + TimeDelta::seconds(1);
        assert!(store.outbox_next_due_for("discord").await?.is_some());
        assert_eq!(store.outbox_next_due_for("matrix").await?, None);
        let only = store.claim_outbox_for("discord", later, 10, LEASE).await?;
        assert_eq!(only.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["d"]);
        let two = store.claim_outbox_for("telegram", later, 2, LEASE).await?;
        assert_eq!(two.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["x0", "x1"]);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_fires_once_per_occurrence() {
    with_each_backend(|store| async move {
        let monday = Utc::now();
        assert_eq!(store.job_last_run("reminders").await?, None);
        assert!(store.claim_job_run("reminders", monday).await?);
        assert!(!store.claim_job_run("reminders", monday).await?, "same occurrence");
        assert!(!store.claim_job_run("reminders", monday - TimeDelta::hours(1)).await?, "an older occurrence");
        let last = store.job_last_run("reminders").await?.expect("ran");
        assert!((last - monday).abs() < TimeDelta::milliseconds(1));
        // Another job is independent.
        assert!(store.claim_job_run("deadlines", monday).await?);

        // Several replicas on the next occurrence: exactly one wins.
        let tuesday = monday + TimeDelta::days(1);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            tasks.spawn(async move { store.claim_job_run("reminders", tuesday).await });
        }
        let mut won = 0;
        while let Some(joined) = tasks.join_next().await {
            if joined.expect("task")? {
                won += 1;
            }
        }
        assert_eq!(won, 1);
        Ok::<_, StoreError>(())
    })
    .await;
}
