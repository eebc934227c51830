//! Delivery of the outbox. The dispatcher claims due messages, hands each to the [`Sender`] of its
//! platform and records the outcome: sent, retry later (with backoff or the platform's
//! `retry_after`), or failed for good (then the facilitators are told; nothing is dropped silently).
//!
//! Pacing follows the platforms' limits ([`Limits`]): a token bucket for the global rate, a minimum
//! interval between two messages to one chat, and a per-minute cap for Telegram groups. Messages to
//! one chat go out in the order they were queued: the store hands out only the oldest pending
//! message of each chat, so a message waiting for a retry holds back the ones queued after it.
//! Several dispatchers (replicas) may run against one database: a claimed message is leased to one
//! of them (see `Store::claim_outbox`), from its own claim. The pacing state is per process, except
//! the interval of a chat, counted from the last message delivered to it by whichever process (the
//! store says when), and a platform's 429: its `retry_after` is recorded in the store for the chat and
//! the whole bot (`Store::hold_sends`), so that no replica claims or sends there before it runs out.
//!
//! A dispatcher given an instance name ([`Dispatcher::with_instance`]) runs only while it holds that
//! instance's lock (one live process per name; on SQLite, one per database), and when it takes the
//! lock it takes back at once what an earlier run of the same instance had in flight: that process is
//! dead, so its messages need not wait out their lease (see `essaim_store::Claimant`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use essaim_store::{Changeset, Claimant, DispatcherLock, NewOutgoing, OutboxMessage, Store, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::message::{Outgoing, Platform};

/// Send attempts by `platform` and `outcome` (`sent`, `rate_limited` — a 429 —, `retry`, `failed`), for
/// `/metrics` (a counter of the `metrics` facade; nothing is recorded without a recorder).
pub const SENDS: &str = "essaim_outbox_sends_total";

/// What happened to one send attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Delivered; the platform's id of the message (to edit it later).
    Sent { message_id: String },
    /// The platform asked us to slow down (HTTP 429): try again after this long.
    RetryAfter(Duration),
    /// A failure that may pass (network, 5xx): try again with backoff.
    Transient(String),
    /// A failure that will not pass (chat not found, bot blocked, bad request): give up.
    Permanent(String),
}

impl SendOutcome {
    /// Logs the outcome of one send by an adapter (inside its span, which names the outbox key).
    pub fn trace(&self, platform: Platform) {
        match self {
            SendOutcome::Sent { message_id } => tracing::debug!(message_id, "sent"),
            SendOutcome::RetryAfter(after) => tracing::info!(?after, %platform, "the platform asks to slow down"),
            SendOutcome::Transient(why) => tracing::warn!(why, %platform, "send failed, will retry"),
            SendOutcome::Permanent(why) => tracing::warn!(why, %platform, "send refused by the platform"),
        }
    }
}

/// Sends one message on one platform. Implemented by each adapter.
pub trait Sender: Send + Sync + 'static {
    /// `key` is the outbox row's stable key: a platform with idempotent sends (Discord `nonce`)
    /// uses it so that a retry after a crash cannot post twice.
    fn send(&self, key: &str, message: &Outgoing) -> impl Future<Output = SendOutcome> + Send;
}

/// The key prefix of the notices that tell facilitators a message could not be delivered. A notice
/// that fails is not itself noticed (no loops).
pub const FAILURE_NOTICE_PREFIX: &str = "failed:";

/// How many messages one claim takes (at most one per chat).
const BATCH: i64 = 64;
/// How long a claimed message is ours by default (see [`Dispatcher::with_lease`]). Waits for pacing
/// longer than a third of the lease give the message back instead, so that the send itself has the
/// rest of the lease.
const LEASE: Duration = Duration::from_secs(60);
/// Longest sleep between two looks at the outbox when nobody pokes the dispatcher (rows queued by
/// another replica, leases of a dead replica running out).
const MAX_IDLE: Duration = Duration::from_secs(10);
/// Shortest sleep when the last pass did nothing, so that a row due but not claimable cannot spin.
const MIN_IDLE: Duration = Duration::from_millis(100);
/// Pause after a database error before trying again.
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// First pause between two tries of a held instance lock, doubled up to the next; the dead process's
/// lock is usually free within milliseconds of its death, a live one's only when it stops.
const LOCK_RETRY_FIRST: Duration = Duration::from_millis(100);
const LOCK_RETRY_MAX: Duration = Duration::from_secs(5);
/// How long the lock may stay held by another process before the wait is logged as a warning.
const LOCK_PATIENCE: Duration = Duration::from_secs(2);
/// How long a look at the lock's connection may take before the lock counts as lost.
const LOCK_CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Telegram counts group messages over a minute.
const GROUP_WINDOW: Duration = Duration::from_secs(60);
/// Longest error text quoted in a notice to the facilitators.
const NOTICE_ERROR_CHARS: usize = 300;

/// The pace a platform accepts. A rate of 0 means "no limit".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages per second over all chats (a token bucket of this size, refilled at this rate).
    pub global_per_second: u32,
    /// Minimum time between the starts of two sends to one chat.
    pub per_chat_interval: Duration,
    /// Messages per minute to one group (a chat id starting with `-`, as Telegram numbers groups).
    pub group_per_minute: u32,
}

impl Limits {
    /// Telegram Bot API: about 30 messages per second overall, one per second per chat, 20 per
    /// minute per group.
    pub fn telegram() -> Self {
        Self { global_per_second: 30, per_chat_interval: Duration::from_secs(1), group_per_minute: 20 }
    }

    /// Discord: 50 requests per second per bot; a channel's message bucket allows 5 messages per
    /// 5 seconds, which one message per second never trips (bursts would, then wait out a 429).
    /// Discord channel ids never start with `-`, so there is no group cap.
    pub fn discord() -> Self {
        Self { global_per_second: 50, per_chat_interval: Duration::from_secs(1), group_per_minute: 0 }
    }

    /// No pacing at all (a fake platform, the demo, tests).
    pub fn none() -> Self {
        Self { global_per_second: 0, per_chat_interval: Duration::ZERO, group_per_minute: 0 }
    }
}

type SendFuture<'a> = Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>>;

/// [`Sender`] made object-safe, so that each platform may have its own sender type.
trait DynSender: Send + Sync + 'static {
    fn send_dyn<'a>(&'a self, key: &'a str, message: &'a Outgoing) -> SendFuture<'a>;
}

impl<S: Sender> DynSender for S {
    fn send_dyn<'a>(&'a self, key: &'a str, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(self.send(key, message))
    }
}

/// One platform: its sender, its limits and where it stands with them.
struct Lane {
    platform: Platform,
    sender: Box<dyn DynSender>,
    limits: Limits,
    pace: Mutex<Pace>,
}

struct Pace {
    /// Token bucket of the global rate.
    tokens: f64,
    refilled: Instant,
    /// The platform asked us to wait (RetryAfter) until then.
    paused_until: Option<Instant>,
    chats: HashMap<String, ChatPace>,
}

struct ChatPace {
    last: Instant,
    /// Starts of the sends of the last minute (groups only).
    recent: VecDeque<Instant>,
}

impl Lane {
    fn new(platform: Platform, sender: Box<dyn DynSender>, limits: Limits) -> Self {
        let pace = Pace {
            tokens: f64::from(limits.global_per_second),
            refilled: Instant::now(),
            paused_until: None,
            chats: HashMap::new(),
        };
        Self { platform, sender, limits, pace: Mutex::new(pace) }
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        // The state is a few numbers, consistent after every statement: usable after a panic.
        self.pace.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the slot to send to `chat` now and returns `None`, or returns how long to wait before
    /// asking again (nothing is taken). `last_delivered` is when the store last saw a message to
    /// `chat` delivered (by this process or another): the chat's interval runs from it too.
    fn reserve(&self, chat: &str, now: Instant, last_delivered: Option<Instant>) -> Option<Duration> {
        let limits = self.limits;
        let mut pace = self.pace();
        let rate = f64::from(limits.global_per_second);
        if rate > 0.0 {
            let elapsed = now.saturating_duration_since(pace.refilled).as_secs_f64();
            pace.tokens = (pace.tokens + elapsed * rate).min(rate);
            pace.refilled = now;
        }
        let mut wait = Duration::ZERO;
        if let Some(last) = last_delivered {
            wait = wait.max((last + limits.per_chat_interval).saturating_duration_since(now));
        }
        if let Some(until) = pace.paused_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        let is_group = chat.starts_with('-') && limits.group_per_minute > 0;
        let window = usize::try_from(limits.group_per_minute).unwrap_or(usize::MAX);
        if let Some(chat_pace) = pace.chats.get_mut(chat) {
            wait = wait.max((chat_pace.last + limits.per_chat_interval).saturating_duration_since(now));
            while chat_pace.recent.front().is_some_and(|t| now.saturating_duration_since(*t) >= GROUP_WINDOW) {
                chat_pace.recent.pop_front();
            }
            if is_group && chat_pace.recent.len() >= window {
                let oldest = chat_pace.recent[chat_pace.recent.len() - window];
                wait = wait.max((oldest + GROUP_WINDOW).saturating_duration_since(now));
            }
        }
        if rate > 0.0 && pace.tokens < 1.0 {
            wait = wait.max(Duration::from_secs_f64((1.0 - pace.tokens) / rate));
        }
        if !wait.is_zero() {
            return Some(wait);
        }
        if rate > 0.0 {
            pace.tokens -= 1.0;
        }
        if pace.chats.len() > 4096 {
            // Forget the chats whose limits no longer matter.
            let keep = limits.per_chat_interval.max(GROUP_WINDOW);
            pace.chats.retain(|_, c| now.saturating_duration_since(c.last) < keep);
        }
        let chat_pace =
            pace.chats.entry(chat.to_owned()).or_insert_with(|| ChatPace { last: now, recent: VecDeque::new() });
        chat_pace.last = now;
        if is_group {
            chat_pace.recent.push_back(now);
        }
        None
    }

    fn pause(&self, until: Instant) {
        let mut pace = self.pace();
        pace.paused_until = Some(pace.paused_until.map_or(until, |t| t.max(until)));
    }
}

/// Retry policy.
#[derive(Debug, Clone, Copy)]
struct Settings {
    lease: Duration,
    max_attempts: i64,
    first_backoff: Duration,
    max_backoff: Duration,
}

/// Delivers the outbox through one [`Sender`] per platform.
///
/// ```no_run
/// # async fn demo(store: essaim_store::Store, sender: impl essaim_chat::Sender) {
/// use essaim_chat::Platform;
/// use essaim_chat::dispatch::{Dispatcher, Limits};
/// let dispatcher = Dispatcher::new(store).with_sender(Platform::Telegram, sender, Limits::telegram());
/// let poke = dispatcher.notifier(); // poke.notify_one() after committing outbox rows
/// let _ = dispatcher.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
/// # }
/// ```
pub struct Dispatcher {
    store: Store,
    /// This run: the instance name (if any) and an incarnation of its own.
    claimant: Claimant,
    lanes: Vec<Arc<Lane>>,
    notify: Arc<Notify>,
    settings: Settings,
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatcher")
            .field("platforms", &self.lanes.iter().map(|l| (l.platform, l.limits)).collect::<Vec<_>>())
            .field("settings", &self.settings)
            .field("claimant", &self.claimant)
            .finish_non_exhaustive()
    }
}

impl Dispatcher {
    /// A dispatcher with no sender yet: it sends nothing until [`Dispatcher::with_sender`]. Up to 8
    /// attempts per message, backoff 1 s, 2 s, 4 s… capped at 10 minutes, plus up to 25 % jitter.
    pub fn new(store: Store) -> Self {
        // Unique to this run: the process id for a person reading the outbox, and chance for the rest.
        let incarnation = format!("{}-{:016x}", std::process::id(), rand::random::<u64>());
        Self {
            store,
            claimant: Claimant::new(None, incarnation),
            lanes: Vec::new(),
            notify: Arc::new(Notify::new()),
            settings: Settings {
                lease: LEASE,
                max_attempts: 8,
                first_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(600),
            },
        }
    }

    /// Sends the messages of `platform` through `sender` at the pace of `limits` (replaces an
    /// earlier sender of that platform). Messages of a platform without a sender stay pending for
    /// another replica.
    pub fn with_sender<S: Sender>(mut self, platform: Platform, sender: S, limits: Limits) -> Self {
        self.lanes.retain(|lane| lane.platform != platform);
        self.lanes.push(Arc::new(Lane::new(platform, Box::new(sender), limits)));
        self
    }

    /// How long a claimed message stays reserved to this dispatcher (default 60 s). A process killed
    /// mid-send leaves its messages to the others once the lease runs out, so a shorter lease means a
    /// faster recovery; it must stay above the sender's own request timeout, or a slow send could be
    /// sent again by another replica.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease.max(Duration::from_millis(300));
        self
    }

    /// Runs as `instance` (blank: unnamed), a name that stays the same across restarts and that no two
    /// live processes share (`serve.instance`). [`Dispatcher::run`] then sends only while it holds the
    /// instance's lock — a second process under the same name waits for the first to stop; on SQLite
    /// any second process waits — and on taking it, sends at once what an earlier run of the instance
    /// had in flight (its process is dead), instead of after the lease. Unnamed, a dispatcher takes no
    /// lock and its claims end only with their lease.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        let instance = instance.into().trim().to_owned();
        let name = (!instance.is_empty()).then_some(instance);
        self.claimant = Claimant::new(name, self.claimant.incarnation());
        self
    }

    /// After this many failed attempts (transient errors) a message fails for good (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.settings.max_attempts = i64::from(attempts.max(1));
        self
    }

    /// The wait after the first transient failure, doubled at each further one up to `max`.
    pub fn with_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.settings.first_backoff = first;
        self.settings.max_backoff = max.max(first);
        self
    }

    /// Wakes on `notify` (shared with the engine, which pokes it after committing outbox rows)
    /// instead of a notifier of its own.
    pub fn with_notify(mut self, notify: Arc<Notify>) -> Self {
        self.notify = notify;
        self
    }

    /// Poke it (`notify_one`) after committing outbox rows: the dispatcher wakes at once instead of
    /// at its next look (a poke while it is busy is kept for when it is done).
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    /// Delivers until `shutdown` resolves: a pass of [`Dispatcher::run_once`], then sleeps until the
    /// next message is due, a poke, or at most 10 s. A pass under way is finished before returning
    /// (no message is left half-sent). Database errors are logged and retried after a pause: an
    /// unreachable database delays delivery but does not stop it. A named dispatcher first waits for
    /// its instance's lock (see [`Dispatcher::with_instance`]) and stops sending if it loses it.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), StoreError> {
        tokio::pin!(shutdown);
        let mut lock = None;
        loop {
            if let Some(instance) = self.claimant.instance()
                && !still_held(&mut lock).await
            {
                lock = self.wait_for_lock(instance, &mut shutdown).await;
                if lock.is_none() {
                    return Ok(());
                }
            }
            let idle = self.pass().await;
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = self.notify.notified() => {}
                () = tokio::time::sleep(idle) => {}
            }
        }
        if let Some(lock) = lock {
            lock.unlock().await;
        }
        Ok(())
    }

    /// A pass of [`Dispatcher::run_once`]; how long to sleep after it.
    async fn pass(&self) -> Duration {
        match self.run_once().await {
            Ok(handled) => match self.next_wake().await {
                Ok(wait) if handled == 0 => wait.max(MIN_IDLE),
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: cannot tell when the next message is due");
                    ERROR_PAUSE
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "outbox: delivery pass failed; trying again shortly");
                ERROR_PAUSE
            }
        }
    }

    /// Takes the lock of `instance`, trying again while another live process holds it; then gives back
    /// the claims of the instance's earlier runs, whose process is dead. `None` when `shutdown` came
    /// first.
    async fn wait_for_lock<F: Future<Output = ()>>(
        &self,
        instance: &str,
        shutdown: &mut std::pin::Pin<&mut F>,
    ) -> Option<DispatcherLock> {
        let started = Instant::now();
        let mut pause = LOCK_RETRY_FIRST;
        let mut told = false;
        loop {
            match self.store.try_lock_dispatcher(instance).await {
                Ok(Some(lock)) => {
                    if told {
                        tracing::warn!(instance, "outbox: the other process of this instance stopped; sending");
                    }
                    match self.store.release_claims_of_earlier_runs(&lock, &self.claimant).await {
                        Ok(0) => {}
                        Ok(released) => tracing::info!(
                            instance,
                            released,
                            "outbox: a previous run of this instance died with messages in flight; sending them now"
                        ),
                        Err(e) => tracing::warn!(
                            error = %e,
                            "outbox: cannot take back a previous run's messages; they leave when their lease ends"
                        ),
                    }
                    return Some(lock);
                }
                Ok(None) if !told && started.elapsed() >= LOCK_PATIENCE => {
                    told = true;
                    tracing::warn!(
                        instance,
                        "outbox: another live process dispatches as this instance (serve.instance; on SQLite, \
                         this database): this one sends nothing until it stops"
                    );
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "outbox: cannot take the instance lock; trying again"),
            }
            tokio::select! {
                biased;
                () = shutdown.as_mut() => return None,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(LOCK_RETRY_MAX);
        }
    }

    /// One pass: claims what is due (on the platforms it has a sender for), sends it at the platforms'
    /// pace and records each outcome, round after round until a round settles nothing. Each round claims
    /// afresh what is due at that moment — the oldest message of every chat — so a message queued for an
    /// idle chat during the pass leaves with the next round instead of waiting behind another chat's
    /// queue, and each message's lease is counted from its own claim. Returns how many messages were
    /// settled (sent, rescheduled or failed).
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let mut handled = 0;
        loop {
            let mut tasks = JoinSet::new();
            let mut error = None;
            for lane in &self.lanes {
                let rows = match self
                    .store
                    .claim_outbox_as(&self.claimant, lane.platform.as_str(), Utc::now(), BATCH, self.settings.lease)
                    .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        // The rows already claimed on other platforms are still sent and recorded.
                        error = Some(e);
                        break;
                    }
                };
                for row in rows {
                    let (store, lane, notify) = (self.store.clone(), lane.clone(), self.notify.clone());
                    tasks.spawn(deliver(store, lane, self.settings, notify, row));
                }
            }
            if tasks.is_empty() {
                return error.map_or(Ok(handled), Err);
            }
            let mut settled = 0;
            while let Some(joined) = tasks.join_next().await {
                match joined {
                    Ok(Ok(true)) => settled += 1,
                    Ok(Ok(false)) => {}
                    Ok(Err(e)) => error = Some(e),
                    // A sender that panics: the message stays claimed until its lease runs out.
                    Err(e) => tracing::error!(error = %e, "outbox: a send task failed"),
                }
            }
            if let Some(e) = error {
                return Err(e);
            }
            handled += settled;
            if settled == 0 {
                return Ok(handled);
            }
        }
    }

    /// How long until the next message of one of our platforms is due.
    async fn next_wake(&self) -> Result<Duration, StoreError> {
        let mut wait = MAX_IDLE;
        let now = Utc::now();
        for lane in &self.lanes {
            if let Some(due) = self.store.outbox_next_due_for(lane.platform.as_str()).await? {
                wait = wait.min((due - now).to_std().unwrap_or(Duration::ZERO));
            }
        }
        Ok(wait)
    }
}

/// Sends one claimed message and records the outcome. `Ok(false)` when it was given back unsent
/// (the platform's pace would outlast the lease).
async fn deliver(
    store: Store,
    lane: Arc<Lane>,
    settings: Settings,
    notify: Arc<Notify>,
    row: OutboxMessage,
) -> Result<bool, StoreError> {
    let span = tracing::info_span!(
        "outbox_send",
        key = %row.key,
        id = row.id,
        platform = %lane.platform,
        attempt = row.attempts,
    );
    async move {
        let message = match serde_json::from_value::<Outgoing>(row.payload.clone()) {
            Ok(message) if message.platform == lane.platform && message.chat_id == row.chat_id => message,
            Ok(message) => {
                let error = format!(
                    "the queued message is addressed to {} chat {} but was queued for {} chat {}",
                    message.platform, message.chat_id, row.platform, row.chat_id
                );
                give_up(&store, &notify, &row, &error).await?;
                return Ok(true);
            }
            Err(e) => {
                let error = format!("the queued message is not a message essaim can send: {e}");
                give_up(&store, &notify, &row, &error).await?;
                return Ok(true);
            }
        };

        // Wait for our turn (platform pause, chat spacing, group cap, global rate), but start sending
        // within the first third of the lease as the store counted it, so that the send has the rest:
        // past that, another replica could take the message while it is still on its way.
        let send_by = row.claimed_until.map_or_else(
            || Instant::now() + settings.lease / 3,
            |until| {
                let until = instant_of(until);
                until.checked_sub(settings.lease - settings.lease / 3).unwrap_or(until)
            },
        );
        let last_delivered = row.chat_last_sent_at.map(instant_of);
        loop {
            let now = Instant::now();
            if now > send_by {
                tracing::debug!("outbox: claimed too long ago to send safely; given back");
                store.outbox_release(row.id, Utc::now()).await?;
                return Ok(false);
            }
            let Some(wait) = lane.reserve(&row.chat_id, now, last_delivered) else {
                break;
            };
            if now + wait > send_by {
                tracing::debug!(wait_ms = wait.as_millis(), "outbox: paced beyond the lease; given back");
                store.outbox_release(row.id, later(wait)).await?;
                return Ok(false);
            }
            tokio::time::sleep(wait).await;
        }

        // Another replica may have been told to wait (a 429) since this row was claimed: honour it.
        if let Some(until) = store.send_wait(lane.platform.as_str(), Some(&row.chat_id), Utc::now()).await? {
            lane.pause(instant_of(until));
            let wait = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            if Instant::now() + wait > send_by {
                tracing::debug!(wait_ms = wait.as_millis(), "outbox: the platform asked another replica to wait");
                store.outbox_release(row.id, until).await?;
                return Ok(false);
            }
            tokio::time::sleep(wait).await;
        }

        match lane.sender.send_dyn(&row.key, &message).await {
            SendOutcome::Sent { message_id } => {
                tracing::info!("outbox: sent");
                metrics::counter!(SENDS, "platform" => row.platform.clone(), "outcome" => "sent").increment(1);
                store.outbox_sent(row.id, Some(&message_id)).await?;
            }
            SendOutcome::RetryAfter(wait) => {
                tracing::info!(retry_after_ms = wait.as_millis(), "outbox: the platform asked to slow down");
                metrics::counter!(SENDS, "platform" => row.platform.clone(), "outcome" => "rate_limited").increment(1);
                lane.pause(Instant::now() + wait);
                // Whether the 429 was for this chat or the whole bot the platform does not say: like the
                // pause above, every replica holds the whole platform until then, and the chat too.
                let until = later(wait);
                let platform = lane.platform.as_str();
                store.hold_sends(platform, Some(&row.chat_id), until).await?;
                store.hold_sends(platform, None, until).await?;
                let error = format!("the platform asked to wait {} ms (rate limit)", wait.as_millis());
                store.outbox_retry(row.id, until, &error).await?;
            }
            SendOutcome::Transient(error) if row.attempts >= settings.max_attempts => {
                tracing::warn!(error = %error, "outbox: still failing after {} attempts; given up", row.attempts);
                metrics::counter!(SENDS, "platform" => row.platform.clone(), "outcome" => "failed").increment(1);
                let error = format!("{error} (after {} attempts)", row.attempts);
                give_up(&store, &notify, &row, &error).await?;
            }
            SendOutcome::Transient(error) => {
                let wait = backoff(settings, row.attempts);
                tracing::info!(error = %error, retry_in_ms = wait.as_millis(), "outbox: failed; will retry");
                metrics::counter!(SENDS, "platform" => row.platform.clone(), "outcome" => "retry").increment(1);
                store.outbox_retry(row.id, later(wait), &error).await?;
            }
            SendOutcome::Permanent(error) => {
                tracing::warn!(error = %error, "outbox: refused by the platform; given up");
                metrics::counter!(SENDS, "platform" => row.platform.clone(), "outcome" => "failed").increment(1);
                give_up(&store, &notify, &row, &error).await?;
            }
        }
        Ok(true)
    }
    .instrument(span)
    .await
}

/// Marks a message failed and queues a notice to every facilitator (unless it was such a notice).
async fn give_up(store: &Store, notify: &Notify, row: &OutboxMessage, error: &str) -> Result<(), StoreError> {
    store.outbox_failed(row.id, error).await?;
    if row.key.starts_with(FAILURE_NOTICE_PREFIX) {
        return Ok(());
    }
    let facilitators = store.accounts_with_role(essaim_core::Role::Facilitator).await?;
    let quoted: String = if error.chars().count() > NOTICE_ERROR_CHARS {
        error.chars().take(NOTICE_ERROR_CHARS).chain(std::iter::once('…')).collect()
    } else {
        error.to_owned()
    };
    let text = format!("⚠️ Message non remis à {} : {quoted}", row.chat_id);
    let mut outbox = Vec::new();
    for account in facilitators {
        let Ok(platform) = account.platform.parse::<Platform>() else {
            tracing::warn!(platform = %account.platform, "facilitator account on an unknown platform: not told");
            continue;
        };
        let payload = match serde_json::to_value(Outgoing::text(platform, &account.chat_id, &text)) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode a failure notice");
                continue;
            }
        };
        outbox.push(NewOutgoing {
            // One notice per failed message and facilitator, whatever happens next.
            key: format!("{FAILURE_NOTICE_PREFIX}{}:{}:{}", row.key, account.platform, account.user_id),
            platform: account.platform,
            chat_id: account.chat_id,
            payload,
        });
    }
    if outbox.is_empty() {
        tracing::warn!("outbox: a message failed for good and no facilitator account is linked to be told");
        return Ok(());
    }
    store.apply(&Changeset { outbox, ..Changeset::default() }).await?;
    notify.notify_one();
    Ok(())
}

/// 1 s, 2 s, 4 s… (from `first_backoff`) after attempts 1, 2, 3…, capped, plus up to 25 % jitter.
fn backoff(settings: Settings, attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 31)).unwrap_or(31);
    let base = settings.first_backoff.saturating_mul(2u32.saturating_pow(doublings)).min(settings.max_backoff);
    base + base.mul_f64(rand::random::<f64>() * 0.25)
}

/// Whether `lock` is still held (at most [`LOCK_CHECK_TIMEOUT`] to tell); forgets it when lost.
async fn still_held(lock: &mut Option<DispatcherLock>) -> bool {
    let Some(held) = lock else {
        return false;
    };
    if tokio::time::timeout(LOCK_CHECK_TIMEOUT, held.is_held()).await == Ok(true) {
        return true;
    }
    tracing::error!(
        instance = held.instance(),
        "outbox: lost the instance lock (database connection); sending stops until it is taken again"
    );
    *lock = None;
    false
}

/// The instant of the monotonic clock that is `at` on the wall clock.
fn instant_of(at: DateTime<Utc>) -> Instant {
    let (wall, clock) = (Utc::now(), Instant::now());
    match (at - wall).to_std() {
        Ok(ahead) => clock.checked_add(ahead).unwrap_or(clock + Duration::from_secs(365 * 86_400)),
        Err(_) => clock.checked_sub((wall - at).to_std().unwrap_or(Duration::ZERO)).unwrap_or(clock),
    }
}

/// Now plus `wait`, on the store's clock.
fn later(wait: Duration) -> DateTime<Utc> {
    let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    Utc::now().checked_add_signed(wait).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Never;
    impl Sender for Never {
        async fn send(&self, _key: &str, _message: &Outgoing) -> SendOutcome {
            SendOutcome::Permanent("never".into())
        }
    }

    fn lane(limits: Limits) -> Lane {
        Lane::new(Platform::Telegram, Box::new(Never), limits)
    }

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap_with_some_jitter() {
        let settings = Settings {
            lease: LEASE,
            max_attempts: 8,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(600),
        };
        for (attempts, base) in [(1, 1), (2, 2), (3, 4), (4, 8), (10, 512), (11, 600), (60, 600)] {
            let wait = backoff(settings, attempts);
            let base = Duration::from_secs(base);
            assert!(wait >= base && wait <= base.mul_f64(1.25), "attempt {attempts}: {wait:?}");
        }
    }

    #[test]
    fn a_chat_waits_its_interval_and_a_group_its_minute() {
        let limits =
            Limits { global_per_second: 0, per_chat_interval: Duration::from_millis(500), group_per_minute: 2 };
        let lane = lane(limits);
        let t0 = Instant::now();
        assert_eq!(lane.reserve("42", t0, None), None);
        assert_eq!(lane.reserve("42", t0 + Duration::from_millis(100), None), Some(Duration::from_millis(400)));
        assert_eq!(lane.reserve("43", t0, None), None, "another chat is not held back");
        assert_eq!(lane.reserve("42", t0 + Duration::from_millis(500), None), None);

        assert_eq!(lane.reserve("-100", t0, None), None);
        assert_eq!(lane.reserve("-100", t0 + Duration::from_secs(1), None), None);
        assert_eq!(lane.reserve("-100", t0 + Duration::from_secs(2), None), Some(Duration::from_secs(58)));
        assert_eq!(lane.reserve("-100", t0 + Duration::from_secs(60), None), None);
    }

    #[test]
    fn a_chat_waits_its_interval_from_a_delivery_by_another_process() {
        let limits =
            Limits { global_per_second: 0, per_chat_interval: Duration::from_millis(500), group_per_minute: 0 };
        let lane = lane(limits);
        let t0 = Instant::now();
        // Nothing sent by this process yet, but the store saw a delivery 100 ms ago.
        assert_eq!(lane.reserve("42", t0, Some(t0 - Duration::from_millis(100))), Some(Duration::from_millis(400)));
        assert_eq!(lane.reserve("42", t0 + Duration::from_millis(400), Some(t0 - Duration::from_millis(100))), None);
        assert_eq!(lane.reserve("43", t0, Some(t0 - Duration::from_secs(1))), None, "long enough ago");
    }

    #[test]
    fn the_global_rate_is_a_token_bucket_and_a_pause_holds_everything() {
        let limits = Limits { global_per_second: 2, per_chat_interval: Duration::ZERO, group_per_minute: 0 };
        let lane = lane(limits);
        let t0 = Instant::now();
        assert_eq!(lane.reserve("a", t0, None), None);
        assert_eq!(lane.reserve("b", t0, None), None);
        assert_eq!(lane.reserve("c", t0, None), Some(Duration::from_millis(500)));
        assert_eq!(lane.reserve("c", t0 + Duration::from_millis(500), None), None);

        lane.pause(t0 + Duration::from_secs(5));
        assert_eq!(lane.reserve("d", t0 + Duration::from_secs(4), None), Some(Duration::from_secs(1)));
        assert_eq!(lane.reserve("d", t0 + Duration::from_secs(5), None), None);
    }
}
