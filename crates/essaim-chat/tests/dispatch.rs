//! The outbox dispatcher against a fake platform, on every backend (SQLite always; PostgreSQL when
//! ESSAIM_TEST_POSTGRES_URL is set): see `essaim_store::testing`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use essaim_chat::dispatch::{Dispatcher, Limits};
use essaim_chat::{Outgoing, Platform, SendOutcome, Sender};
use essaim_store::testing::{with_each_backend, with_each_database_url};
use essaim_store::{
    AccountLink, Applied, Backend, Changeset, NewOutgoing, OutboxMessage, OutboxStatus, Store, StoreError,
};
use serde_json::json;

/// One call the fake platform received.
#[derive(Debug, Clone)]
struct Call {
    key: String,
    chat_id: String,
    text: String,
    at: Instant,
}

/// A platform that records every call and answers what the test scripted for a key (then `Sent`).
#[derive(Clone, Default)]
struct FakePlatform {
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<SendOutcome>>>>,
    /// Answer for every key not scripted (else `Sent`).
    default: Arc<Mutex<Option<SendOutcome>>>,
    /// Keys whose send never returns (the process dies mid-send).
    hang: Arc<Mutex<HashSet<String>>>,
}

impl FakePlatform {
    fn script(&self, key: &str, outcomes: Vec<SendOutcome>) {
        self.script.lock().expect("script").insert(key.to_owned(), outcomes.into());
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("calls").clone()
    }

    fn calls_for(&self, key: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.key == key).collect()
    }

    /// A platform on which sending `keys` never ends.
    fn hanging_on(keys: &[&str]) -> Self {
        let fake = Self::default();
        fake.hang.lock().expect("hang").extend(keys.iter().map(|k| (*k).to_owned()));
        fake
    }
}

impl Sender for FakePlatform {
    async fn send(&self, key: &str, message: &Outgoing) -> SendOutcome {
        let at = Instant::now();
        let scripted = self.script.lock().expect("script").get_mut(key).and_then(VecDeque::pop_front);
        let outcome = scripted
            .or_else(|| self.default.lock().expect("default").clone())
            .unwrap_or_else(|| SendOutcome::Sent { message_id: format!("msg-{key}") });
        self.calls.lock().expect("calls").push(Call {
            key: key.to_owned(),
            chat_id: message.chat_id.clone(),
            text: message.text.clone(),
            at,
        });
        if self.hang.lock().expect("hang").contains(key) {
            std::future::pending::<()>().await;
        }
        outcome
    }
}

fn message(key: &str, chat_id: &str) -> NewOutgoing {
    let outgoing = Outgoing::text(Platform::Telegram, chat_id, format!("texte {key}"));
    NewOutgoing {
        key: key.into(),
        platform: "telegram".into(),
        chat_id: chat_id.into(),
        payload: serde_json::to_value(outgoing).expect("payload"),
    }
}

async fn queue(store: &Store, messages: Vec<NewOutgoing>) -> Result<(), StoreError> {
    assert_eq!(store.apply(&Changeset { outbox: messages, ..Changeset::default() }).await?, Applied::Done);
    Ok(())
}

async fn facilitator(store: &Store, user_id: &str) -> Result<(), StoreError> {
    let link = AccountLink {
        platform: "telegram".into(),
        user_id: user_id.into(),
        chat_id: format!("fac-{user_id}"),
        role: essaim_core::Role::Facilitator,
        supplier: None,
        buyer: None,
        language: Some("fr".into()),
        display_name: None,
        scope: None,
    };
    assert_eq!(store.apply(&Changeset { link: Some(link), ..Changeset::default() }).await?, Applied::Done);
    Ok(())
}

async fn row(store: &Store, key: &str) -> Result<OutboxMessage, StoreError> {
    let rows = store.outbox().await?;
    Ok(rows.into_iter().find(|m| m.key == key).unwrap_or_else(|| panic!("no outbox row {key}")))
}

/// Runs passes until `done` holds (or fails after a few seconds).
async fn run_until<F, Fut>(dispatcher: &Dispatcher, mut done: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, StoreError>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        dispatcher.run_once().await?;
        if done().await? {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "the dispatcher did not get there in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn all_settled(store: &Store) -> Result<bool, StoreError> {
    Ok(store.outbox().await?.iter().all(|m| m.status != OutboxStatus::Pending))
}

#[tokio::test]
async fn messages_to_one_chat_go_in_order_even_when_one_must_be_retried() {
    with_each_backend(|store| async move {
        let fake = FakePlatform::default();
        fake.script("a1", vec![SendOutcome::Transient("HTTP 502".into())]);
        let dispatcher = Dispatcher::new(store.clone())
            .with_sender(Platform::Telegram, fake.clone(), Limits::none())
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        queue(
            &store,
            vec![message("a1", "A"), message("b1", "B"), message("a2", "A"), message("b2", "B"), message("a3", "A")],
        )
        .await?;

        // First pass: a1 fails and holds a2, a3 back; B goes on.
        dispatcher.run_once().await?;
        let keys: Vec<_> = fake.calls().into_iter().map(|c| c.key).collect();
        assert!(keys.contains(&"a1".to_owned()) && !keys.contains(&"a2".to_owned()), "{keys:?}");
        assert_eq!(row(&store, "a1").await?.status, OutboxStatus::Pending);

        run_until(&dispatcher, || all_settled(&store)).await?;
        let mut per_chat: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for call in fake.calls() {
            per_chat.entry(call.chat_id).or_default().push(call.key);
        }
        assert_eq!(per_chat["A"], ["a1", "a1", "a2", "a3"]);
        assert_eq!(per_chat["B"], ["b1", "b2"]);
        let rows = store.outbox().await?;
        assert!(rows.iter().all(|m| m.status == OutboxStatus::Sent), "{rows:?}");
        assert_eq!(store.outbox_message_id("a2").await?.as_deref(), Some("msg-a2"));
        assert_eq!(row(&store, "a1").await?.attempts, 2);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn retry_after_is_respected_for_the_message_and_the_whole_platform() {
    with_each_backend(|store| async move {
        let fake = FakePlatform::default();
        fake.script("slow", vec![SendOutcome::RetryAfter(Duration::from_millis(400))]);
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), Limits::none());
        queue(&store, vec![message("slow", "1")]).await?;
        assert_eq!(dispatcher.run_once().await?, 1);
        let first = fake.calls_for("slow")[0].at;
        let slow = row(&store, "slow").await?;
        assert_eq!(slow.status, OutboxStatus::Pending);
        assert!(slow.next_attempt_at > Utc::now() + TimeDelta::milliseconds(200), "{slow:?}");
        assert!(slow.last_error.as_deref().is_some_and(|e| e.contains("400 ms")), "{slow:?}");

        // Another chat on the same platform waits for the pause too (it is not even claimed before).
        queue(&store, vec![message("other", "2")]).await?;
        run_until(&dispatcher, || {
            let fake = fake.clone();
            async move { Ok(!fake.calls_for("other").is_empty()) }
        })
        .await?;
        let other = fake.calls_for("other");
        assert_eq!(other.len(), 1);
        assert!(other[0].at >= first + Duration::from_millis(400), "sent {:?} after the 429", other[0].at - first);

        run_until(&dispatcher, || all_settled(&store)).await?;
        let calls = fake.calls_for("slow");
        assert_eq!(calls.len(), 2);
        assert!(calls[1].at >= first + Duration::from_millis(400));
        assert_eq!(row(&store, "slow").await?.status, OutboxStatus::Sent);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn transient_failures_are_retried_with_growing_waits_then_succeed() {
    with_each_backend(|store| async move {
        facilitator(&store, "1").await?;
        let fake = FakePlatform::default();
        fake.script("flaky", vec![SendOutcome::Transient("timeout".into()), SendOutcome::Transient("HTTP 503".into())]);
        let dispatcher = Dispatcher::new(store.clone())
            .with_sender(Platform::Telegram, fake.clone(), Limits::none())
            .with_backoff(Duration::from_millis(50), Duration::from_secs(1));
        queue(&store, vec![message("flaky", "7")]).await?;
        run_until(&dispatcher, || async { Ok(row(&store, "flaky").await?.status == OutboxStatus::Sent) }).await?;

        let calls = fake.calls_for("flaky");
        assert_eq!(calls.len(), 3);
        assert!(calls[1].at - calls[0].at >= Duration::from_millis(50), "{:?}", calls[1].at - calls[0].at);
        assert!(calls[2].at - calls[1].at >= Duration::from_millis(100), "{:?}", calls[2].at - calls[1].at);
        let flaky = row(&store, "flaky").await?;
        assert_eq!((flaky.attempts, flaky.last_error.as_deref()), (3, Some("HTTP 503")));
        // Delivered in the end: nobody is told anything.
        assert_eq!(store.outbox().await?.len(), 1);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn transient_failures_give_up_after_the_last_attempt() {
    with_each_backend(|store| async move {
        facilitator(&store, "1").await?;
        let fake = FakePlatform::default();
        fake.script("doomed", (0..5).map(|_| SendOutcome::Transient("HTTP 500".into())).collect());
        let dispatcher = Dispatcher::new(store.clone())
            .with_sender(Platform::Telegram, fake.clone(), Limits::none())
            .with_backoff(Duration::from_millis(10), Duration::from_millis(20))
            .with_max_attempts(3);
        queue(&store, vec![message("doomed", "7")]).await?;
        run_until(&dispatcher, || async { Ok(row(&store, "doomed").await?.status == OutboxStatus::Failed) }).await?;
        assert_eq!(fake.calls_for("doomed").len(), 3);
        let doomed = row(&store, "doomed").await?;
        assert!(doomed.last_error.as_deref().is_some_and(|e| e.contains("HTTP 500")), "{doomed:?}");
        assert!(store.outbox().await?.iter().any(|m| m.key.starts_with("failed:doomed")));
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_permanent_failure_tells_every_facilitator_once() {
    with_each_backend(|store| async move {
        facilitator(&store, "1").await?;
        facilitator(&store, "2").await?;
        let fake = FakePlatform::default();
        fake.script("offer:9", vec![SendOutcome::Permanent("Forbidden: bot was blocked by the user".into())]);
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), Limits::none());
        queue(&store, vec![message("offer:9", "555")]).await?;

        run_until(&dispatcher, || all_settled(&store)).await?;
        assert_eq!(fake.calls_for("offer:9").len(), 1, "a permanent failure is not retried");
        let offer = row(&store, "offer:9").await?;
        assert_eq!(offer.status, OutboxStatus::Failed);
        assert_eq!(offer.last_error.as_deref(), Some("Forbidden: bot was blocked by the user"));

        let notices: Vec<_> = fake.calls().into_iter().filter(|c| c.key != "offer:9").collect();
        assert_eq!(notices.len(), 2, "{notices:?}");
        let mut chats: Vec<_> = notices.iter().map(|c| c.chat_id.as_str()).collect();
        chats.sort();
        assert_eq!(chats, ["fac-1", "fac-2"]);
        for notice in &notices {
            assert_eq!(notice.text, "⚠️ Message non remis à 555 : Forbidden: bot was blocked by the user");
        }
        // Nothing more is queued afterwards: each facilitator is told once.
        let rows_before = store.outbox().await?.len();
        dispatcher.run_once().await?;
        assert_eq!(store.outbox().await?.len(), rows_before);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_failed_notice_is_not_itself_noticed_and_unreadable_messages_fail_clearly() {
    with_each_backend(|store| async move {
        facilitator(&store, "1").await?;
        let fake = FakePlatform::default();
        *fake.default.lock().expect("default") = Some(SendOutcome::Permanent("chat not found".into()));
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), Limits::none());
        let mut garbled = message("garbled", "555");
        garbled.payload = json!({ "text": "no platform, no chat" });
        queue(&store, vec![garbled]).await?;

        run_until(&dispatcher, || all_settled(&store)).await?;
        let rows = store.outbox().await?;
        assert_eq!(rows.len(), 2, "the failure and one notice, not a notice of the notice: {rows:?}");
        assert!(rows[0].last_error.as_deref().is_some_and(|e| e.contains("not a message")), "{rows:?}");
        assert!(fake.calls_for("garbled").is_empty(), "an unreadable message is never sent");
        assert!(rows[1].key.starts_with("failed:garbled"));
        assert_eq!(rows[1].status, OutboxStatus::Failed);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn sends_to_one_chat_are_spaced_and_other_chats_are_not_held_back() {
    with_each_backend(|store| async move {
        let fake = FakePlatform::default();
        let limits = Limits { global_per_second: 0, per_chat_interval: Duration::from_millis(50), group_per_minute: 0 };
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), limits);
        let burst = (0..4).flat_map(|i| [message(&format!("x{i}"), "X"), message(&format!("y{i}"), "Y")]).collect();
        queue(&store, burst).await?;
        run_until(&dispatcher, || all_settled(&store)).await?;

        let calls = fake.calls();
        assert_eq!(calls.len(), 8);
        for chat in ["X", "Y"] {
            let at: Vec<_> = calls.iter().filter(|c| c.chat_id == chat).map(|c| c.at).collect();
            assert_eq!(at.len(), 4);
            for pair in at.windows(2) {
                // The fake stamps a call just after the dispatcher took its slot.
                assert!(pair[1] - pair[0] >= Duration::from_millis(48), "{chat}: {:?} apart", pair[1] - pair[0]);
            }
        }
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_message_to_an_idle_chat_does_not_wait_behind_another_chats_queue() {
    with_each_backend(|store| async move {
        let fake = FakePlatform::default();
        let limits =
            Limits { global_per_second: 0, per_chat_interval: Duration::from_millis(100), group_per_minute: 0 };
        let dispatcher = Arc::new(Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), limits));
        // A facilitator's burst: 15 messages to one chat, one every 100 ms.
        queue(&store, (0..15).map(|i| message(&format!("a{i}"), "A")).collect()).await?;
        let pass = tokio::spawn({
            let dispatcher = dispatcher.clone();
            async move { dispatcher.run_once().await }
        });
        // While that drains, a structure asks something in its own chat.
        tokio::time::sleep(Duration::from_millis(150)).await;
        queue(&store, vec![message("b0", "B")]).await?;
        pass.await.expect("the pass ran")?;

        let order: Vec<String> = fake.calls().into_iter().map(|c| c.key).collect();
        let b = order.iter().position(|k| k == "b0").expect("B's reply left within the same pass");
        let last_a = order.iter().position(|k| k == "a14").expect("A's queue drained");
        assert!(b < last_a, "B waited behind A's whole queue: {order:?}");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_global_rate_and_the_group_cap_hold() {
    with_each_backend(|store| async move {
        let fake = FakePlatform::default();
        let limits = Limits { global_per_second: 10, per_chat_interval: Duration::ZERO, group_per_minute: 2 };
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), limits);

        // 15 chats at 10 per second: the first 10 at once, then one every 100 ms.
        queue(&store, (0..15).map(|i| message(&format!("m{i}"), &format!("{i}"))).collect()).await?;
        run_until(&dispatcher, || all_settled(&store)).await?;
        let mut at: Vec<_> = fake.calls().into_iter().map(|c| c.at).collect();
        at.sort();
        assert_eq!(at.len(), 15);
        assert!(at[14] - at[0] >= Duration::from_millis(450), "15 sends in {:?}", at[14] - at[0]);

        // A group takes 2 messages a minute: the third is given back for later, unsent.
        queue(&store, (0..3).map(|i| message(&format!("g{i}"), "-1001")).collect()).await?;
        dispatcher.run_once().await?;
        dispatcher.run_once().await?;
        let sent: Vec<_> = fake.calls().into_iter().filter(|c| c.chat_id == "-1001").map(|c| c.key).collect();
        assert_eq!(sent, ["g0", "g1"]);
        let third = row(&store, "g2").await?;
        assert_eq!((third.status, third.attempts, third.claimed_until), (OutboxStatus::Pending, 0, None));
        assert!(third.next_attempt_at > Utc::now() + TimeDelta::seconds(50), "{third:?}");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn messages_of_a_platform_without_a_sender_stay_pending() {
    with_each_backend(|store| async move {
        let fake = FakePlatform::default();
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), Limits::none());
        let discord = NewOutgoing {
            key: "d1".into(),
            platform: "discord".into(),
            chat_id: "123".into(),
            payload: serde_json::to_value(Outgoing::text(Platform::Discord, "123", "bonjour")).expect("payload"),
        };
        queue(&store, vec![discord, message("t1", "1")]).await?;
        assert_eq!(dispatcher.run_once().await?, 1);
        let d1 = row(&store, "d1").await?;
        assert_eq!((d1.status, d1.attempts, d1.claimed_until), (OutboxStatus::Pending, 0, None));
        assert_eq!(row(&store, "t1").await?.status, OutboxStatus::Sent);
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn run_delivers_when_poked_and_stops_on_shutdown() {
    with_each_backend(|store| async move {
        let fake = FakePlatform::default();
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), Limits::none());
        let poke = dispatcher.notifier();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(dispatcher.run(async move {
            let _ = stopped.await;
        }));
        // Let it go idle (its longest sleep is 10 s), then queue and poke.
        tokio::time::sleep(Duration::from_millis(200)).await;
        queue(&store, vec![message("hello", "1")]).await?;
        poke.notify_one();
        let deadline = Instant::now() + Duration::from_secs(3);
        while row(&store, "hello").await?.status != OutboxStatus::Sent {
            assert!(Instant::now() < deadline, "not delivered after a poke");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = stop.send(());
        let outcome = tokio::time::timeout(Duration::from_secs(5), running).await.expect("stops").expect("task");
        assert!(outcome.is_ok(), "{outcome:?}");
        Ok::<_, StoreError>(())
    })
    .await;
}

/// A dispatcher running in the background, as `essaim serve` runs it; `kill` is what SIGKILL does to it
/// (its tasks stop where they are, its database session and lock file close), `stop` a clean shutdown.
struct Running {
    task: tokio::task::JoinHandle<Result<(), StoreError>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Running {
    fn start(dispatcher: Dispatcher) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(dispatcher.run(async move {
            let _ = stopped.await;
        }));
        Self { task, stop }
    }

    async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        let outcome = tokio::time::timeout(Duration::from_secs(10), self.task).await.expect("stops").expect("task");
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

/// Waits until `platform` received `key` (at most `limit`).
async fn until_called(platform: &FakePlatform, key: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while platform.calls_for(key).is_empty() {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// Waits until `key` is sent (at most `limit`); how long that took.
async fn until_sent(store: &Store, key: &str, limit: Duration) -> Result<Option<Duration>, StoreError> {
    let started = Instant::now();
    while row(store, key).await?.status != OutboxStatus::Sent {
        if started.elapsed() > limit {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(Some(started.elapsed()))
}

#[tokio::test]
async fn a_restarted_dispatcher_sends_at_once_what_it_had_in_flight_when_it_died() {
    with_each_backend(|store| async move {
        queue(&store, vec![message("a1", "A"), message("a2", "A")]).await?;
        // The default lease, 60 s: without taking back its own claims a restart would wait that long.
        let dying = FakePlatform::hanging_on(&["a1"]);
        let first = Running::start(Dispatcher::new(store.clone()).with_instance("replica-1").with_sender(
            Platform::Telegram,
            dying.clone(),
            Limits::none(),
        ));
        assert!(until_called(&dying, "a1", Duration::from_secs(5)).await, "a1 in flight");
        first.kill().await;
        assert!(row(&store, "a1").await?.claimed_until.is_some_and(|t| t > Utc::now() + TimeDelta::seconds(50)));

        let fake = FakePlatform::default();
        let second = Running::start(Dispatcher::new(store.clone()).with_instance("replica-1").with_sender(
            Platform::Telegram,
            fake.clone(),
            Limits::none(),
        ));
        let waited = until_sent(&store, "a2", Duration::from_secs(10)).await?;
        let waited = waited.expect("the restarted dispatcher sent what its dead run held within 10 s (lease: 60 s)");
        eprintln!("[{}] in-flight message sent {waited:?} after the restart", store.backend());
        assert!(waited < Duration::from_millis(1500), "{waited:?} after the restart");
        let keys: Vec<_> = fake.calls().into_iter().map(|c| c.key).collect();
        assert_eq!(keys, ["a1", "a2"], "resent once, in order");
        let a1 = row(&store, "a1").await?;
        assert_eq!((a1.status, a1.attempts), (OutboxStatus::Sent, 2));
        second.stop().await;
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn a_second_process_of_an_instance_waits_for_the_first_and_other_instances_keep_their_claims() {
    with_each_backend(|store| async move {
        queue(&store, vec![message("a1", "A"), message("b1", "B")]).await?;
        // replica-1 dies with a1 in flight (its platform hangs on it); b1 is sent.
        let dying = FakePlatform::hanging_on(&["a1"]);
        let first = Running::start(Dispatcher::new(store.clone()).with_instance("replica-1").with_sender(
            Platform::Telegram,
            dying.clone(),
            Limits::none(),
        ));
        assert!(until_called(&dying, "a1", Duration::from_secs(5)).await, "a1 in flight");
        assert!(until_sent(&store, "b1", Duration::from_secs(5)).await?.is_some());

        // A second process under the same name while the first lives sends nothing: it would send a1
        // a second time, mid-send.
        let fake = FakePlatform::default();
        let second = Running::start(Dispatcher::new(store.clone()).with_instance("replica-1").with_sender(
            Platform::Telegram,
            fake.clone(),
            Limits::none(),
        ));
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(fake.calls().is_empty(), "{:?}", fake.calls());

        // On PostgreSQL another instance runs beside it, with a message of its own in flight (c1).
        let other = FakePlatform::hanging_on(&["c1"]);
        let replica_2 = (store.backend() == Backend::Postgres).then(|| {
            Running::start(Dispatcher::new(store.clone()).with_instance("replica-2").with_sender(
                Platform::Telegram,
                other.clone(),
                Limits::none(),
            ))
        });
        queue(&store, vec![message("c1", "C")]).await?;
        if replica_2.is_some() {
            // replica-1 (the first process) may take c1 too: hang there as well.
            dying.hang.lock().expect("hang").insert("c1".into());
            let deadline = Instant::now() + Duration::from_secs(5);
            while other.calls_for("c1").is_empty() && dying.calls_for("c1").is_empty() {
                assert!(Instant::now() < deadline, "c1 not claimed");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }

        // The first dies: the second takes over and sends a1 at once, and nothing of replica-2's.
        first.kill().await;
        let waited = until_sent(&store, "a1", Duration::from_secs(10)).await?.expect("a1 sent after the first died");
        assert!(waited < Duration::from_millis(1500), "{waited:?} after the first process died");
        if let Some(replica_2) = replica_2 {
            let c1 = row(&store, "c1").await?;
            if c1.claimed_by.is_some() && other.calls_for("c1").len() == 1 {
                // Held by live replica-2: it keeps its lease, nobody sends it again.
                tokio::time::sleep(Duration::from_millis(300)).await;
                assert!(fake.calls_for("c1").is_empty(), "another live instance's message was sent twice");
                assert_eq!(row(&store, "c1").await?.claimed_until, c1.claimed_until);
            }
            replica_2.kill().await;
        }
        assert_eq!(fake.calls_for("a1").len(), 1);
        assert!(fake.calls_for("b1").is_empty(), "b1 was sent once, by the first");
        second.stop().await;
        Ok::<_, StoreError>(())
    })
    .await;
}

/// A platform that takes its time: a third of the sends (by key) take 250 ms, the others 10 ms, so that
/// a replica's slow sends hold its round while the other replica takes up the chats its fast ones freed.
/// It records which dispatcher sent what, and when each send began.
#[derive(Clone)]
struct Slow {
    who: &'static str,
    calls: Arc<Mutex<Vec<SlowCall>>>,
}

#[derive(Debug, Clone)]
struct SlowCall {
    key: String,
    chat_id: String,
    at: Instant,
    who: &'static str,
}

impl Sender for Slow {
    async fn send(&self, key: &str, message: &Outgoing) -> SendOutcome {
        let started = Instant::now();
        let call = SlowCall { key: key.to_owned(), chat_id: message.chat_id.clone(), at: started, who: self.who };
        self.calls.lock().expect("calls").push(call);
        let slow = key.bytes().map(u32::from).sum::<u32>() % 3 == 0;
        tokio::time::sleep(Duration::from_millis(if slow { 250 } else { 10 })).await;
        SendOutcome::Sent { message_id: format!("msg-{key}") }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_dispatchers_send_every_message_once_and_keep_each_chats_pace() {
    with_each_database_url(|backend, url| async move {
        // Two processes: two pools on one database, each with its dispatcher.
        let (one, two) = (Store::connect(&url).await?, Store::connect(&url).await?);
        one.migrate().await?;
        let interval = Duration::from_millis(150);
        let limits = Limits { global_per_second: 0, per_chat_interval: interval, group_per_minute: 0 };
        let calls = Arc::new(Mutex::new(Vec::new()));
        // Named replicas on PostgreSQL, as in production; on SQLite a named dispatcher holds the whole
        // database, so these two run unnamed (their claims still never overlap).
        let name = |n: &str| if backend == Backend::Postgres { n.to_owned() } else { String::new() };
        // Short: a send starts at most a third of the lease after its claim (pacing), and the slow ones
        // (250 ms) then take most of the rest. On SQLite, where the two pools' 16 writers take turns and
        // one may wait hundreds of milliseconds to record a delivery, longer: a lease must cover the send
        // and its record.
        let lease = Duration::from_millis(if backend == Backend::Postgres { 600 } else { 3000 });
        let dispatcher = |store: &Store, who: &'static str| {
            Dispatcher::new(store.clone()).with_instance(name(who)).with_lease(lease).with_sender(
                Platform::Telegram,
                Slow { who, calls: calls.clone() },
                limits,
            )
        };
        // More chats than one claim takes (64), so that both replicas find work at every round.
        let chats = 100;
        let per_chat = 4;
        let messages = (0..per_chat)
            .flat_map(|i| (0..chats).map(move |c| message(&format!("c{c}-m{i}"), &format!("{}", 1000 + c))))
            .collect();
        let (first, second) = (dispatcher(&one, "replica-1"), dispatcher(&two, "replica-2"));
        let pokes = [first.notifier(), second.notifier()];
        let running = [Running::start(first), Running::start(second)];
        queue(&one, messages).await?;
        // Each replica's engine pokes its own dispatcher for the updates it handled.
        pokes.iter().for_each(|poke| poke.notify_one());

        let deadline = Instant::now() + Duration::from_secs(60);
        while !all_settled(&one).await? {
            assert!(Instant::now() < deadline, "not delivered within 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for dispatcher in running {
            dispatcher.stop().await;
        }
        let calls = calls.lock().expect("calls").clone();
        let rows = one.outbox().await?;
        assert!(rows.iter().all(|m| m.status == OutboxStatus::Sent), "{rows:?}");

        // Every message sent exactly once.
        let mut sends: BTreeMap<&str, usize> = BTreeMap::new();
        for call in &calls {
            *sends.entry(call.key.as_str()).or_default() += 1;
        }
        let twice: Vec<_> = sends.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "sent more than once: {twice:?}");
        assert_eq!(sends.len(), chats * per_chat);
        let by = |who| calls.iter().filter(|c| c.who == who).count();
        eprintln!("[{backend}] replica-1 sent {}, replica-2 {}", by("replica-1"), by("replica-2"));
        assert!(by("replica-1") > 0 && by("replica-2") > 0, "both dispatchers took part");

        // Each chat in order and at its pace, whichever replica sent each message.
        let mut switches = 0;
        for c in 0..chats {
            let chat = format!("{}", 1000 + c);
            let sent: Vec<_> = calls.iter().filter(|call| call.chat_id == chat).collect();
            let keys: Vec<_> = sent.iter().map(|call| call.key.clone()).collect();
            let expected: Vec<_> = (0..per_chat).map(|i| format!("c{c}-m{i}")).collect();
            assert_eq!(keys, expected, "chat {chat} out of order");
            for pair in sent.windows(2) {
                switches += usize::from(pair[0].who != pair[1].who);
                let gap = pair[1].at - pair[0].at;
                assert!(gap >= interval, "chat {chat}: {} then {} only {gap:?} apart", pair[0].key, pair[1].key);
            }
        }
        // Usually dozens; the pace across a switch is also checked on its own below.
        eprintln!("[{backend}] {switches} consecutive messages to a chat sent by different replicas");
        one.close().await;
        two.close().await;
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test]
async fn the_pace_of_a_chat_holds_when_another_replica_sent_its_last_message() {
    with_each_backend(|store| async move {
        let interval = Duration::from_millis(400);
        let limits = Limits { global_per_second: 0, per_chat_interval: interval, group_per_minute: 0 };
        queue(&store, vec![message("a1", "A"), message("a2", "A")]).await?;
        // Another replica delivers a1 just now (it claims, sends, records).
        let claimed = store.claim_outbox(Utc::now(), 10, Duration::from_secs(60)).await?;
        assert_eq!(claimed.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["a1"]);
        store.outbox_sent(claimed[0].id, Some("m1")).await?;
        let delivered = Instant::now();

        // This one has never sent to A, yet waits A's interval from that delivery.
        let fake = FakePlatform::default();
        let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Telegram, fake.clone(), limits);
        run_until(&dispatcher, || all_settled(&store)).await?;
        let a2 = fake.calls_for("a2");
        assert_eq!(a2.len(), 1);
        let gap = a2[0].at - delivered;
        assert!(gap >= interval - Duration::from_millis(5), "a2 sent {gap:?} after a1 was delivered");
        Ok::<_, StoreError>(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_one_replica_got_holds_every_replica_until_its_retry_after_runs_out() {
    with_each_database_url(|backend, url| async move {
        // Two processes on one database: `a` gets the 429, `b` must honour it.
        let (a_store, b_store) = (Store::connect(&url).await?, Store::connect(&url).await?);
        a_store.migrate().await?;
        let limits = Limits { global_per_second: 0, per_chat_interval: Duration::from_secs(1), group_per_minute: 0 };
        let retry_after = Duration::from_secs(2);
        let (a_fake, b_fake) = (FakePlatform::default(), FakePlatform::default());
        a_fake.script("x1", vec![SendOutcome::RetryAfter(retry_after)]);
        let a = Dispatcher::new(a_store.clone()).with_sender(Platform::Telegram, a_fake.clone(), limits);
        let b = Dispatcher::new(b_store.clone()).with_sender(Platform::Telegram, b_fake.clone(), limits);
        let poke_b = b.notifier();
        let b = Running::start(b);

        // `b` sends y0, then has y1 claimed and waits out chat Y's second…
        queue(&a_store, vec![message("y0", "Y"), message("y1", "Y")]).await?;
        poke_b.notify_one();
        assert!(until_called(&b_fake, "y0", Duration::from_secs(5)).await, "[{backend}] y0 not sent");
        tokio::time::sleep(Duration::from_millis(200)).await;
        // …when `a`'s send to chat X is answered 429 retry_after = 2 s.
        queue(&a_store, vec![message("x1", "X"), message("x2", "X")]).await?;
        assert_eq!(a.run_once().await?, 1, "[{backend}] x1 answered 429, x2 behind it");
        let told = a_fake.calls_for("x1")[0].at;
        // A chat nobody has sent to yet, queued after the 429.
        queue(&a_store, vec![message("z1", "Z")]).await?;
        poke_b.notify_one();

        let deadline = Instant::now() + Duration::from_secs(20);
        while !all_settled(&a_store).await? {
            assert!(Instant::now() < deadline, "[{backend}] not delivered within 20 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        b.stop().await;

        // Nothing left `b` before the wait ran out: neither chat X, nor the message it held claimed (y1),
        // nor a chat it had never sent to (z1). Every message once, x1 twice (429 then sent).
        let calls = b_fake.calls();
        let keys: BTreeMap<&str, usize> = calls.iter().fold(BTreeMap::new(), |mut keys, call| {
            *keys.entry(call.key.as_str()).or_default() += 1;
            keys
        });
        assert_eq!(keys, BTreeMap::from([("x1", 1), ("x2", 1), ("y0", 1), ("y1", 1), ("z1", 1)]), "[{backend}]");
        for call in calls.iter().filter(|c| c.key != "y0") {
            let after = call.at.saturating_duration_since(told);
            assert!(after >= retry_after, "[{backend}] {} sent {after:?} after the 429 of another replica", call.key);
        }
        a_store.close().await;
        b_store.close().await;
        Ok::<_, StoreError>(())
    })
    .await;
}
