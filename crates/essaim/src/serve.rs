//! `essaim serve`: the Telegram bot, the outbox dispatcher and the scheduler in one process, with an
//! HTTP listener for health checks and the Telegram webhook.
//!
//! Durability comes from the order of things, not from this process staying up: an update is
//! acknowledged to Telegram only after its effect and its messages are committed (inbox + outbox in
//! one transaction), and a message leaves the outbox only once Telegram accepted it. Killing the
//! process at any instant therefore loses nothing; on restart the dispatcher resumes the outbox and the
//! scheduler fires an overdue reminder once.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use essaim_chat::{Dispatcher, Engine, Incoming, Limits, Platform, Scheduler};
use essaim_telegram::{TelegramConfig, TelegramSender};
use tokio::sync::Notify;

use crate::BadInput;
use crate::cli::{Global, open_store};
use crate::config::Config;

/// The Telegram bot token: from the environment only, so it never sits in a file or a log.
pub const TOKEN_VAR: &str = "ESSAIM_TELEGRAM_TOKEN";
pub const WEBHOOK_SECRET_VAR: &str = "ESSAIM_TELEGRAM_WEBHOOK_SECRET";

pub async fn run(global: &Global, config: &Config) -> Result<()> {
    let token = std::env::var(TOKEN_VAR).ok().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        BadInput(format!("{TOKEN_VAR} is not set: give the bot token from @BotFather in this environment variable"))
    })?;
    let store = open_store(global, config).await?;
    let settings = config.engine_settings()?;
    let outbox_ready = Arc::new(Notify::new());
    let engine = Engine::new(store.clone(), settings, outbox_ready.clone());
    let telegram = TelegramConfig {
        token,
        api_url: config.telegram.api_url.clone(),
        poll_timeout: Duration::from_secs(u64::from(config.telegram.poll_timeout_s)),
        webhook_secret: std::env::var(WEBHOOK_SECRET_VAR).ok().filter(|s| !s.is_empty()),
    };
    let bot = essaim_telegram::bot(&telegram).map_err(|e| BadInput(format!("telegram.api_url: {e}")))?;
    let dispatcher = Dispatcher::new(store.clone())
        .with_notify(outbox_ready)
        .with_lease(Duration::from_secs_f64(config.outbox.lease_s))
        .with_sender(Platform::Telegram, TelegramSender::new(bot.clone()), Limits::telegram());
    let scheduler = Scheduler::new(engine.clone()).map_err(|e| BadInput(e.to_string()))?;

    // One switch stops every part; each part waits on its own receiver.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let handler = {
        let engine = engine.clone();
        move |incoming: Incoming| {
            let engine = engine.clone();
            async move { engine.handle(&incoming).await.map(|h| h.notice).map_err(|e| e.to_string()) }
        }
    };

    let listener = tokio::net::TcpListener::bind(&config.serve.listen)
        .await
        .with_context(|| format!("cannot listen on {} (serve.listen)", config.serve.listen))?;
    let mut router = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok" }));
    let webhook = config.telegram.mode == "webhook";
    if webhook {
        let Some(secret) = telegram.webhook_secret.clone() else {
            bail!(BadInput(format!("telegram.mode = webhook needs {WEBHOOK_SECRET_VAR}")));
        };
        router = router.merge(essaim_telegram::webhook_router(bot.clone(), secret, handler.clone()));
    }
    eprintln!(
        "essaim serve: {} database, Telegram {}, listening on {}",
        store.backend(),
        if webhook { "webhook" } else { "long polling" },
        listener.local_addr().map(|a| a.to_string()).unwrap_or_default()
    );

    let http_task = tokio::spawn(axum::serve(listener, router).with_graceful_shutdown(stopped()).into_future());
    let dispatcher_task = tokio::spawn(dispatcher.run(stopped()));
    let scheduler_task = tokio::spawn(scheduler.run(stopped()));
    let mut polling_task = tokio::spawn({
        let (bot, timeout, stop) = (bot.clone(), telegram.poll_timeout, stopped());
        async move {
            if webhook {
                stop.await;
                Ok(())
            } else {
                essaim_telegram::run_polling(bot, timeout, handler, stop).await
            }
        }
    });
    let mut outcome = Ok(());
    tokio::select! {
        result = &mut polling_task => {
            if let Ok(Err(e)) = result {
                outcome = Err(anyhow::anyhow!("Telegram polling stopped: {e}"));
            }
        }
        _ = shutdown_signal() => eprintln!("essaim serve: stopping"),
    }
    // Stop taking updates first (the one in hand is finished and confirmed), then the rest.
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        if !polling_task.is_finished() {
            let _ = polling_task.await;
        }
        let _ = http_task.await;
        let _ = dispatcher_task.await;
        let _ = scheduler_task.await;
    })
    .await;
    store.close().await;
    outcome
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
