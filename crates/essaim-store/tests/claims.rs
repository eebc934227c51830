//! Who holds an outbox claim: the dispatcher instance lock, and a restarted instance taking back what
//! its dead run had in flight, on every backend (SQLite always; PostgreSQL when
//! ESSAIM_TEST_POSTGRES_URL is set).

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use essaim_store::testing::with_each_backend;
use essaim_store::{
    Applied, Backend, Changeset, Claimant, DispatcherLock, NewOutgoing, OutboxMessage, Store, StoreError,
};
use serde_json::json;

const LEASE: Duration = Duration::from_secs(60);

fn outgoing(key: &str, chat_id: &str) -> NewOutgoing {
    NewOutgoing {
        key: key.into(),
        platform: "telegram".into(),
        chat_id: chat_id.into(),
        payload: json!({ "platform": "telegram", "chat_id": chat_id, "text": key }),
    }
}

async fn queue(store: &Store, messages: Vec<NewOutgoing>) -> Result<(), StoreError> {
    assert_eq!(store.apply(&Changeset { outbox: messages, ..Changeset::default() }).await?, Applied::Done);
    Ok(())
}

fn run_of(instance: &str, incarnation: &str) -> Claimant {
    Claimant::new(Some(instance.to_owned()), incarnation)
}

async fn row(store: &Store, key: &str) -> Result<OutboxMessage, StoreError> {
    let rows = store.outbox().await?;
    Ok(rows.into_iter().find(|m| m.key == key).unwrap_or_else(|| panic!("no outbox row {key}")))
}

fn keys(rows: &[OutboxMessage]) -> Vec<&str> {
    rows.iter().map(|m| m.key.as_str()).collect()
}

/// The lock of `instance`, trying for up to 3 s: a dropped PostgreSQL session frees its lock once the
/// server has seen the connection close, a few milliseconds later.
async fn lock_soon(store: &Store, instance: &str) -> Result<Option<DispatcherLock>, StoreError> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Some(lock) = store.try_lock_dispatcher(instance).await? {
            return Ok(Some(lock));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_restarted_instance_takes_back_what_its_dead_run_held_and_nothing_else() {
    with_each_backend(|store| async move {
        queue(&store, vec![outgoing("a1", "A"), outgoing("b1", "B"), outgoing("c1", "C"), outgoing("a2", "A")]).await?;
        let now = Utc::now() + TimeDelta::seconds(1);
        // Three holders: a run of replica-1 (about to die), a live replica-2, an unnamed claimant.
        let first_run = run_of("replica-1", "run-1");
        let a1 = store.claim_outbox_as(&first_run, "telegram", now, 1, LEASE).await?;
        let b1 = store.claim_outbox_as(&run_of("replica-2", "run-7"), "telegram", now, 1, LEASE).await?;
        let c1 = store.claim_outbox(now, 1, LEASE).await?;
        assert_eq!((keys(&a1), keys(&b1), keys(&c1)), (vec!["a1"], vec!["b1"], vec!["c1"]));
        let held = row(&store, "a1").await?;
        assert_eq!(
            (held.claimed_instance.as_deref(), held.claimed_by.as_deref(), held.attempts),
            (Some("replica-1"), Some("run-1"), 1)
        );
        assert_eq!(row(&store, "c1").await?.claimed_instance, None);

        // replica-1 restarts: a new run takes the lock (the old process is dead), and a1 is due again at
        // once, while b1 and c1 keep their lease and a2 still waits behind a1.
        let second_run = run_of("replica-1", "run-2");
        let lock = store.try_lock_dispatcher("replica-1").await?.expect("nobody else runs as replica-1");
        assert_eq!(store.release_claims_of_earlier_runs(&lock, &second_run).await?, 1);
        let again = store.claim_outbox_as(&second_run, "telegram", now, 10, LEASE).await?;
        assert_eq!(keys(&again), ["a1"]);
        assert_eq!(again[0].attempts, 2, "the dead run's attempt may have reached the platform: it counts");
        assert_eq!(again[0].claimed_by.as_deref(), Some("run-2"));
        let b1 = row(&store, "b1").await?;
        assert_eq!(b1.claimed_by.as_deref(), Some("run-7"));
        assert!(b1.claimed_until.is_some_and(|until| until > now + TimeDelta::seconds(50)), "{b1:?}");

        // A run never gives back its own claims, nor those of another instance.
        assert_eq!(store.release_claims_of_earlier_runs(&lock, &second_run).await?, 0);
        assert!(store.claim_outbox(now, 10, LEASE).await?.is_empty());
        lock.unlock().await;
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn one_live_process_holds_an_instance_lock_and_a_dead_ones_is_free() {
    with_each_backend(|store| async move {
        let mut first = store.try_lock_dispatcher("replica-1").await?.expect("free at first");
        assert!(first.is_held().await);
        // Another process (another session, another open of the lock file) is refused while it lives.
        assert!(store.try_lock_dispatcher("replica-1").await?.is_none());
        let other = store.try_lock_dispatcher("replica-2").await?;
        match store.backend() {
            // Replicas with their own names dispatch side by side.
            Backend::Postgres => assert!(other.is_some(), "another instance has a lock of its own"),
            // One process dispatches a SQLite database.
            Backend::Sqlite => assert!(other.is_none(), "SQLite: one dispatcher per database"),
        }
        // The process dies: dropping its lock is what its death does to the connection or the file.
        drop(first);
        let again = lock_soon(&store, "replica-1").await?;
        assert!(again.is_some(), "the lock of a dead process is free");
        if let Some(other) = other {
            other.unlock().await;
        }
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_claim_tells_when_its_chat_last_received_a_message() {
    with_each_backend(|store| async move {
        queue(&store, vec![outgoing("a1", "A"), outgoing("a2", "A"), outgoing("b1", "B")]).await?;
        let claimant = Claimant::new(None, "run-1");
        let first = store.claim_outbox_as(&claimant, "telegram", Utc::now(), 10, LEASE).await?;
        assert_eq!(keys(&first), ["a1", "b1"]);
        assert!(first.iter().all(|m| m.chat_last_sent_at.is_none()), "nothing sent to A or B yet");
        assert_eq!((first[0].claimed_instance.as_deref(), first[0].claimed_by.as_deref()), (None, Some("run-1")));
        store.outbox_sent(first[0].id, Some("m1")).await?;
        let sent_at = row(&store, "a1").await?.sent_at.expect("sent");

        // Whoever claims a2 (another replica, say) learns when A last received a message.
        let next = store.claim_outbox_as(&Claimant::new(None, "run-2"), "telegram", Utc::now(), 10, LEASE).await?;
        assert_eq!(keys(&next), ["a2"]);
        assert_eq!(next[0].chat_last_sent_at, Some(sent_at));
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_lease_runs_from_the_claim_even_when_the_caller_asked_earlier() {
    with_each_backend(|store| async move {
        queue(&store, vec![outgoing("a1", "A")]).await?;
        // A caller that read the clock, then waited (a busy SQLite writer, a slow pool): its lease must
        // not be half gone when it gets the row, or another replica could take it mid-send.
        let asked = Utc::now() - TimeDelta::seconds(50);
        store.outbox_retry(row(&store, "a1").await?.id, asked - TimeDelta::seconds(1), "HTTP 502").await?;
        let claimed = store.claim_outbox(asked, 1, LEASE).await?;
        assert_eq!(keys(&claimed), ["a1"]);
        let until = claimed[0].claimed_until.expect("claimed");
        assert!(until >= Utc::now() + TimeDelta::seconds(59), "lease until {until}, asked at {asked}");
        Ok::<_, StoreError>(())
    })
    .await;
}
