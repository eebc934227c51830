//! Receiving interactions over the Discord gateway (a serenity [`Client`]), for a bot that has no
//! public HTTPS endpoint: the alternative to [`crate::interactions_router`], with the same answers.
//!
//! The gateway URL comes from `GET /api/v10/gateway` on the REST base (`DiscordConfig::api_url`):
//! serenity's `ClientBuilder` asks it of the `Http` it is given, and the shards connect to the URL
//! answered (`ws://` works as well as `wss://`), so a loopback fake (`fake_gateway`) serves both.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use essaim_chat::{Handled, Incoming, IncomingKind};
use serenity::all::{
    ClientBuilder, Context, CreateActionRow, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateModal, EditInteractionResponse, EventHandler, GatewayIntents,
    InputTextStyle, Interaction, Ready,
};
use serenity::async_trait;
use serenity::builder::Builder;
use serenity::http::Http;

use crate::{DiscordConfig, DiscordError};

/// How long the handler may take before the interaction is answered « deferred » (Discord gives up
/// on an interaction not answered within 3 s).
pub const ANSWER_BUDGET: Duration = Duration::from_millis(2500);
/// How long a shutdown waits for the shards to close cleanly.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);
/// The ephemeral answer to a command handled without a notice.
const DONE: &str = "✅";
/// The deferred answer edited in when the handler failed after the 2.5 s budget.
const FAILED: &str = "❌";
/// The answer when the check before a form took too long (a form can only be the first answer).
const RETRY: &str = "⏳ Réessayez dans un instant.";
/// Title and label of the quantity modal.
const QUANTITY_LABEL: &str = "Quantité";
/// `custom_id` of the modal's text input.
const QUANTITY_INPUT: &str = "quantity";

/// Runs a serenity client on the gateway until `shutdown` resolves: every interaction is
/// translated with [`crate::translate`], handed to `handler`, and answered like the HTTP endpoint
/// does — an ephemeral message with the notice (or « ✅ » for a command; a deferred update for a
/// button or form without notice), a modal for a button whose `custom_id` starts with `q|` when the
/// handler says it may open ([`Handled::form`], else its notice), and past 2.5 s a deferred ephemeral answer edited with the notice when
/// the handler is done. A handler `Err` leaves the interaction unanswered (Discord shows a failure;
/// nothing was recorded, the user may retry).
///
/// Returns `Ok(())` after a requested shutdown, an error when the client cannot start or every
/// shard stopped on its own (invalid token, disallowed intents…).
pub async fn run_gateway<H, Fut>(
    config: &DiscordConfig,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DiscordError>
where
    H: Fn(Incoming) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    // A fresh `Arc` has no other owner: unwrapping it always succeeds.
    let http = Arc::try_unwrap(crate::http(config)?)
        .map_err(|_| DiscordError::Api("gateway: the REST client is shared".to_owned()))?;
    // Interactions arrive whatever the intents; these two are not privileged.
    let intents = GatewayIntents::GUILDS | GatewayIntents::DIRECT_MESSAGES;
    let mut client = ClientBuilder::new_with_http(http, intents)
        .event_handler(Gateway { handler })
        .await
        .map_err(|e| DiscordError::Api(format!("gateway: cannot build the client: {e}")))?;
    let manager = client.shard_manager.clone();

    let mut start = std::pin::pin!(client.start());
    tokio::select! {
        result = &mut start => {
            return match result {
                Ok(()) => Err(DiscordError::Api("gateway: every shard stopped".to_owned())),
                Err(e) => Err(DiscordError::Api(format!("gateway: {e}"))),
            };
        }
        () = shutdown => {}
    }
    tracing::info!("discord gateway: shutting down");
    // `ShardManager::shutdown_all` does nothing while no shard runner exists (shutdown right after
    // start, or the shard still connecting): give the first shard the grace period to come up.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    while manager.runners.lock().await.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::select! {
            result = &mut start => {
                if let Err(e) = result {
                    tracing::warn!("discord gateway: stopped with an error: {e}");
                }
                return Ok(());
            }
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    if manager.runners.lock().await.is_empty() {
        tracing::warn!("discord gateway: no shard came up before the shutdown; abandoning the client");
        return Ok(());
    }
    manager.shutdown_all().await;
    // `start` returns once the shard manager reports the shutdown (each shard is closed with code
    // 1000, waiting at most 5 s for it).
    match tokio::time::timeout(SHUTDOWN_GRACE, start).await {
        Ok(Ok(())) | Err(_) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!("discord gateway: stopped with an error: {e}");
            Ok(())
        }
    }
}

struct Gateway<H> {
    handler: H,
}

#[async_trait]
impl<H, Fut> EventHandler for Gateway<H>
where
    H: Fn(Incoming) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(bot = %ready.user.id, session = %ready.session_id, "discord gateway: ready");
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        answer(&ctx.http, &interaction, &self.handler).await;
    }
}

/// What the interaction is, for the choice of the answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Component,
}

async fn answer<H, Fut>(http: &Http, interaction: &Interaction, handler: &H)
where
    H: Fn(Incoming) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Handled, String>> + Send + 'static,
{
    let id = interaction.id();
    let token = interaction.token();
    let kind = match interaction {
        Interaction::Command(_) => Kind::Command,
        Interaction::Component(_) | Interaction::Modal(_) => Kind::Component,
        _ => return,
    };
    let Some(incoming) = crate::translate(interaction) else {
        return;
    };
    let form = match &incoming.kind {
        IncomingKind::OpenForm { data } => Some(data.clone()),
        _ => None,
    };
    let mut task = tokio::spawn(handler(incoming));
    match tokio::time::timeout(ANSWER_BUDGET, &mut task).await {
        Ok(Ok(Ok(handled))) => {
            let response = match (kind, form, handled) {
                (_, Some(data), Handled { form: true, .. }) => {
                    let input = CreateInputText::new(InputTextStyle::Short, QUANTITY_LABEL, QUANTITY_INPUT);
                    let modal =
                        CreateModal::new(data, QUANTITY_LABEL).components(vec![CreateActionRow::InputText(input)]);
                    CreateInteractionResponse::Modal(modal)
                }
                (_, _, Handled { notice: Some(notice), .. }) => CreateInteractionResponse::Message(ephemeral(notice)),
                (_, Some(_), _) => CreateInteractionResponse::Message(ephemeral(RETRY.to_owned())),
                (Kind::Command, None, _) => CreateInteractionResponse::Message(ephemeral(DONE.to_owned())),
                (Kind::Component, None, _) => CreateInteractionResponse::Acknowledge,
            };
            respond(http, interaction, response).await;
        }
        Ok(Ok(Err(error))) => {
            tracing::warn!(interaction = %id, "discord gateway: the handler failed: {error}");
        }
        Ok(Err(join)) => {
            tracing::error!(interaction = %id, "discord gateway: the handler panicked: {join}");
        }
        Err(_) if form.is_some() => {
            respond(http, interaction, CreateInteractionResponse::Message(ephemeral(RETRY.to_owned()))).await;
        }
        Err(_) => {
            let deferred = CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true));
            respond(http, interaction, deferred).await;
            let content = match task.await {
                Ok(Ok(handled)) => handled.notice.unwrap_or_else(|| DONE.to_owned()),
                Ok(Err(error)) => {
                    tracing::warn!(interaction = %id, "discord gateway: the handler failed: {error}");
                    FAILED.to_owned()
                }
                Err(join) => {
                    tracing::error!(interaction = %id, "discord gateway: the handler panicked: {join}");
                    FAILED.to_owned()
                }
            };
            let edit = EditInteractionResponse::new().content(content);
            if let Err(e) = edit.execute(http, token).await {
                tracing::warn!(interaction = %id, "discord gateway: cannot edit the deferred answer: {e}");
            }
        }
    }
}

fn ephemeral(content: String) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new().content(content).ephemeral(true)
}

async fn respond(http: &Http, interaction: &Interaction, response: CreateInteractionResponse) {
    if let Err(e) = response.execute(http, (interaction.id(), interaction.token())).await {
        tracing::warn!(interaction = %interaction.id(), "discord gateway: cannot answer the interaction: {e}");
    }
}
