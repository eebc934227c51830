//! `essaim serve`: the Telegram and Discord bots, the outbox dispatcher and the scheduler in one
//! process, with an HTTP listener for health checks, the Telegram webhook and Discord's HTTP
//! interactions.
//!
//! Durability comes from the order of things, not from this process staying up: an update is
//! acknowledged to Telegram only after its effect and its messages are committed (inbox + outbox in
//! one transaction), and a message leaves the outbox only once Telegram accepted it. Killing the
//! process at any instant therefore loses nothing; on restart the dispatcher resumes the outbox and the
//! scheduler fires an overdue reminder once.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use essaim_chat::{Dispatcher, Engine, Handled, Incoming, Limits, Platform, Scheduler};
use essaim_discord::DiscordSender;
use essaim_telegram::{TelegramConfig, TelegramSender};
use tokio::sync::Notify;

use crate::cli::{Global, open_store};
use crate::config::{Config, DiscordMode, TelegramMode};

/// The Telegram bot token: from the environment only, so it never sits in a file or a log.
pub const TOKEN_VAR: &str = "ESSAIM_TELEGRAM_TOKEN";
pub const WEBHOOK_SECRET_VAR: &str = "ESSAIM_TELEGRAM_WEBHOOK_SECRET";

/// The Discord bot token: from the environment only.
pub const DISCORD_TOKEN_VAR: &str = "ESSAIM_DISCORD_TOKEN";

pub(crate) fn secret_from_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|t| !t.trim().is_empty())
}

/// The chat command a desk's campaign action is (the command line's and the API's).
pub(crate) fn command_of(action: essaim_api::CampaignAction) -> essaim_chat::Command {
    use essaim_api::CampaignAction as A;
    use essaim_chat::Command as C;
    match action {
        A::Launch => C::Allocate,
        A::Status => C::Status,
        A::Remind => C::Remind,
        A::Send => C::Send,
        A::Close => C::Close,
        A::Members => C::Members,
    }
}

/// The API's campaign actions, run by the engine as a facilitator at a desk (operator « api »).
fn steer(engine: Engine) -> essaim_api::Steer {
    Arc::new(move |action, reference, lang| {
        let engine = engine.clone();
        Box::pin(async move {
            engine.steer("api", command_of(action), reference.as_str(), lang).await.map_err(|e| e.to_string())
        })
    })
}

pub async fn run(global: &Global, config: &Config) -> Result<()> {
    let telegram_token = secret_from_env(TOKEN_VAR);
    let discord_token = secret_from_env(DISCORD_TOKEN_VAR);
    if telegram_token.is_none() && discord_token.is_none() {
        eprintln!("essaim serve: neither {TOKEN_VAR} nor {DISCORD_TOKEN_VAR} is set: no chat bot, the HTTP API only");
    }
    let store = open_store(global, config).await?;
    let outbox_ready = Arc::new(Notify::new());
    let engine = Engine::new(store.clone(), config.engine_settings()?, outbox_ready.clone());
    let scheduler = Scheduler::new(engine.clone())
        .and_then(|s| s.with_retention(config.retention.retention()))
        .map_err(|e| bad_input!("configuration: {e}"))?;

    // One switch stops every part; each part waits on its own receiver.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || -> Stop {
        let mut rx = stop_rx.clone();
        Box::pin(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
    };
    let mut wiring = Wiring::new(&store, config, &engine, outbox_ready)?;
    if let Some(token) = telegram_token {
        wiring = wiring.telegram(config, token, &engine, stopped())?;
    }
    if let Some(token) = discord_token {
        wiring = wiring.discord(config, token, &engine, stopped())?;
    }
    let Wiring { router, dispatcher, bots, mut ways_in, .. } = wiring.mail(config, &engine)?;

    let listener = listen(config, &store, &bots).await?;
    let header_timeout = Duration::from_secs_f64(config.serve.header_read_timeout_s);
    let parts = [
        tokio::spawn(crate::http::serve(listener, router, header_timeout, stopped())),
        // The dispatcher reports nothing worth more than its own logs once it is stopped.
        tokio::spawn({
            let stop = stopped();
            async move {
                let _ = dispatcher.run(stop).await;
            }
        }),
        tokio::spawn(scheduler.run(stopped())),
    ];
    let outcome = until_stopped(&mut ways_in).await;
    // Stop taking updates first (the one in hand is finished and confirmed), then the rest.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        // The one that ended was already awaited; awaiting it again would panic.
        for way in ways_in.into_iter().filter(|w| !w.is_finished()) {
            let _ = way.await;
        }
        for part in parts {
            let _ = part.await;
        }
    })
    .await;
    store.close().await;
    outcome
}

/// The HTTP listener on `serve.listen`, announced with the database and the channels it serves.
async fn listen(config: &Config, store: &essaim_store::Store, bots: &[&str]) -> Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind(&config.serve.listen)
        .await
        .with_context(|| format!("cannot listen on {} (serve.listen)", config.serve.listen))?;
    eprintln!(
        "essaim serve: {} database, {}, listening on {}",
        store.backend(),
        if bots.is_empty() { "HTTP API".to_owned() } else { format!("HTTP API, {}", bots.join(", ")) },
        listener.local_addr().map(|a| a.to_string()).unwrap_or_default()
    );
    Ok(listener)
}

/// Runs until a signal, or until a way in stops on its own (a refused token, say): its outcome then.
async fn until_stopped(ways_in: &mut [tokio::task::JoinHandle<Result<()>>]) -> Result<()> {
    let ended = async {
        if ways_in.is_empty() { std::future::pending::<Result<()>>().await } else { first_to_end(ways_in).await }
    };
    tokio::select! {
        result = ended => result,
        _ = shutdown_signal() => {
            eprintln!("essaim serve: stopping");
            Ok(())
        }
    }
}

/// What stops a part: the switch `run` turns at shutdown.
type Stop = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// An update being handled.
type Handling = std::pin::Pin<Box<dyn Future<Output = Result<Handled, String>> + Send>>;

/// What every way in does with an update: the engine handles it (its effect and its replies in one
/// transaction); the way in acknowledges it to the platform only then.
fn handler(engine: &Engine) -> impl Fn(Incoming) -> Handling + Clone + Send + Sync + 'static {
    let engine = engine.clone();
    move |incoming: Incoming| {
        let engine = engine.clone();
        Box::pin(async move { engine.handle(&incoming).await.map_err(|e| e.to_string()) })
    }
}

/// The lead of Telegram polling among the replicas on this database, if free: a future that holds it and
/// resolves when it is lost (the session that holds it stops answering, checked every 2 s).
async fn polling_lead(store: essaim_store::Store) -> Option<impl Future<Output = ()> + Send> {
    let mut lead = match store.try_lead("telegram-polling").await {
        Ok(lead) => lead?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell whether another replica polls Telegram; trying again");
            return None;
        }
    };
    Some(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if tokio::time::timeout(Duration::from_secs(5), lead.is_held()).await != Ok(true) {
                return;
            }
        }
    })
}

/// What `serve` puts together as it starts: each channel adds its routes (webhooks, interactions, answer
/// pages), its sender to the dispatcher and, for the ways in that run on their own (long polling, the
/// gateway), a task.
struct Wiring {
    store: essaim_store::Store,
    router: axum::Router,
    dispatcher: Dispatcher,
    health: Arc<essaim_api::Health>,
    /// The channels, as the start line names them.
    bots: Vec<&'static str>,
    ways_in: Vec<tokio::task::JoinHandle<Result<()>>>,
}

impl Wiring {
    /// The HTTP API and a dispatcher without senders yet.
    fn new(store: &essaim_store::Store, config: &Config, engine: &Engine, outbox_ready: Arc<Notify>) -> Result<Self> {
        let api = essaim_api::ApiConfig {
            proposal: config.proposal_settings()?,
            tokens: config.api_tokens()?,
            max_body_bytes: config.api.max_body_bytes,
            timeout: Duration::from_secs_f64(config.api.timeout_s),
            taxonomy: config.taxonomy()?,
            steer: Some(steer(engine.clone())),
        };
        let health = Arc::new(essaim_api::Health::default());
        let dispatcher = Dispatcher::new(store.clone())
            .with_notify(outbox_ready)
            .with_instance(config.serve.instance())
            .with_lease(Duration::from_secs_f64(config.outbox.lease_s));
        Ok(Wiring {
            store: store.clone(),
            router: essaim_api::router(store.clone(), api, health.clone())
                .merge(essaim_api::metrics_router(store.clone(), config.api.metrics_token()?)),
            dispatcher,
            health,
            bots: Vec::new(),
            ways_in: Vec::new(),
        })
    }

    /// Telegram: its sender, its command menu, and its updates by webhook or long polling.
    fn telegram(mut self, config: &Config, token: String, engine: &Engine, stop: Stop) -> Result<Self> {
        let telegram = TelegramConfig {
            token,
            api_url: config.telegram.api_url.clone(),
            poll_timeout: Duration::from_secs(u64::from(config.telegram.poll_timeout_s)),
            webhook_secret: secret_from_env(WEBHOOK_SECRET_VAR),
        };
        let bot = essaim_telegram::bot(&telegram).map_err(|e| bad_input!("telegram.api_url: {e}"))?;
        self.dispatcher =
            self.dispatcher.with_sender(Platform::Telegram, TelegramSender::new(bot.clone()), Limits::telegram());
        // The command menu beside the text field, French and English; in the background: a slow or
        // refused call must not hold the start.
        let menu_bot = bot.clone();
        tokio::spawn(async move { essaim_telegram::set_menus(&menu_bot).await });
        match config.telegram.mode {
            TelegramMode::Webhook => {
                let Some(secret) = telegram.webhook_secret.clone() else {
                    return Err(bad_input!("telegram.mode = webhook needs {WEBHOOK_SECRET_VAR}"));
                };
                self.router = self.router.merge(essaim_telegram::webhook_router(bot, secret, handler(engine)));
                // Served by the HTTP listener itself: up as long as the process answers.
                self.health.set("telegram", true);
                self.bots.push("Telegram (webhook)");
            }
            TelegramMode::Polling => {
                // Replicas on one PostgreSQL elect the one that polls; on SQLite this process always does.
                let store = self.store.clone();
                let elect = move || polling_lead(store.clone());
                let polling =
                    essaim_telegram::run_polling_elected(bot, telegram.poll_timeout, handler(engine), stop, elect);
                self.run_way_in("telegram", "Telegram (long polling)", async move {
                    polling.await.map_err(|e| anyhow::anyhow!("Telegram polling stopped: {e}"))
                });
            }
        }
        Ok(self)
    }

    /// Discord: its sender, its slash commands, and its interactions over HTTP or the gateway.
    fn discord(mut self, config: &Config, token: String, engine: &Engine, stop: Stop) -> Result<Self> {
        let discord = essaim_discord::DiscordConfig {
            token,
            application_id: config.discord.application_id,
            public_key: config.discord.public_key.clone(),
            api_url: config.discord.api_url.clone(),
        };
        let http = essaim_discord::http(&discord).map_err(|e| bad_input!("discord: {e}"))?;
        self.dispatcher =
            self.dispatcher.with_sender(Platform::Discord, DiscordSender::new(http.clone()), Limits::discord());
        if config.discord.register_commands {
            let (http, application_id) = (http.clone(), discord.application_id);
            tokio::spawn(async move {
                if let Err(e) = essaim_discord::register_commands(&http, application_id).await {
                    tracing::error!(error = %e, "could not register the Discord slash commands");
                }
            });
        }
        match config.discord.mode {
            DiscordMode::Gateway => {
                let handler = handler(engine);
                self.run_way_in("discord", "Discord (gateway)", async move {
                    essaim_discord::gateway::run_gateway(&discord, handler, stop)
                        .await
                        .map_err(|e| anyhow::anyhow!("Discord gateway stopped: {e}"))
                });
            }
            DiscordMode::Interactions => {
                if discord.public_key.trim().is_empty() {
                    return Err(bad_input!("discord.public_key is needed to verify HTTP interactions"));
                }
                let interactions = essaim_discord::InteractionsConfig {
                    public_key: discord.public_key.clone(),
                    application_id: discord.application_id,
                    max_age: Duration::from_secs(300),
                };
                let routes = essaim_discord::interactions_router(interactions, http, handler(engine));
                self.router = self.router.merge(routes);
                self.health.set("discord", true);
                self.bots.push("Discord (HTTP interactions)");
            }
        }
        Ok(self)
    }

    /// A way in that runs on its own (long polling, the gateway): up for `/readyz` until it ends.
    fn run_way_in(
        &mut self,
        part: &'static str,
        bot: &'static str,
        run: impl Future<Output = Result<()>> + Send + 'static,
    ) {
        let health = self.health.clone();
        health.set(part, true);
        self.ways_in.push(tokio::spawn(async move {
            let result = run.await;
            health.set(part, false);
            result
        }));
        self.bots.push(bot);
    }

    /// The e-mail channel, when `[mail] smtp_host` is set: its sender and the pages its links open.
    fn mail(mut self, config: &Config, engine: &Engine) -> Result<Self> {
        let Some(smtp) = config.smtp_settings(secret_from_env)? else { return Ok(self) };
        let Some(key) = secret_from_env(crate::config::LINK_KEY_VAR) else {
            return Err(bad_input!("the e-mail channel ([mail] smtp_host) needs {}", crate::config::LINK_KEY_VAR));
        };
        let links = config.mail_links(key.as_bytes())?;
        let sender = essaim_mail::SmtpSender::new(&smtp, links.clone()).map_err(|e| bad_input!("{e}"))?;
        let limits = Limits { global_per_second: config.mail.per_second, ..Limits::none() };
        self.dispatcher = self.dispatcher.with_sender(Platform::Email, sender, limits);
        self.router = self.router.merge(essaim_mail::answer_router(engine.clone(), links.key));
        self.bots.push("e-mail");
        Ok(self)
    }
}

/// The result of the first of several tasks to end (a panicked task is an error).
async fn first_to_end(tasks: &mut [tokio::task::JoinHandle<Result<()>>]) -> Result<()> {
    std::future::poll_fn(|cx| {
        for task in tasks.iter_mut() {
            if let std::task::Poll::Ready(joined) = std::pin::Pin::new(task).poll(cx) {
                let result = joined.map_err(|e| anyhow::anyhow!("a bot task failed: {e}")).and_then(|r| r);
                return std::task::Poll::Ready(result);
            }
        }
        std::task::Poll::Pending
    })
    .await
}

/// Ctrl-C or SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
