//! What the engine tests share: the settings of a test engine, and a phone that sends what users type
//! and press and reads what is queued back to them.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::Arc;

use chrono::Duration;
use essaim_chat::{Engine, EngineSettings, Incoming, IncomingKind, Outgoing, Platform};
use essaim_core::{Lang, Sector, SectorInfo, SectorTaxonomy, Siret};
use essaim_store::Store;
use tokio::sync::Notify;

pub fn siret(s: &str) -> Siret {
    Siret::parse(s).expect("valid SIRET")
}

pub fn sector(s: &str) -> Sector {
    Sector::parse("sector", s).expect("valid sector")
}

pub fn settings() -> EngineSettings {
    EngineSettings {
        default_lang: Lang::Fr,
        time_zone: chrono_tz::Europe::Paris,
        response_time: Duration::hours(48),
        campaign_duration: Duration::hours(168),
        reminder_schedule: "0 9 * * 1-5".into(),
        tick: std::time::Duration::from_secs(30),
        weights: essaim_solver::Weights::default(),
        solve: essaim_solver::SolveSettings::default(),
        taxonomy: SectorTaxonomy::new([SectorInfo {
            slug: sector("nettoyage"),
            label_fr: "Nettoyage".into(),
            label_en: "Cleaning".into(),
            unit: "h".into(),
        }]),
        proposal: essaim_chat::ProposalDelivery::default(),
        email: false,
    }
}

pub struct Phone {
    pub engine: Engine,
    pub next_update: std::sync::atomic::AtomicU64,
}

impl Phone {
    pub fn new(store: Store) -> Self {
        Self::with_settings(store, settings())
    }

    pub fn with_settings(store: Store, settings: EngineSettings) -> Self {
        Self { engine: Engine::new(store, settings, Arc::new(Notify::new())), next_update: 1.into() }
    }

    pub fn incoming(&self, user: &str, kind: IncomingKind) -> Incoming {
        let id = self.next_update.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Incoming {
            platform: Platform::Telegram,
            update_id: id.to_string(),
            user_id: user.into(),
            chat_id: user.into(),
            user_name: None,
            language: Some("fr".into()),
            chat: essaim_chat::ChatKind::Private,
            kind,
        }
    }

    pub async fn send(&self, user: &str, text: &str) -> essaim_chat::Handled {
        let mut words = text.split_whitespace();
        let kind = match words.next().and_then(|w| w.strip_prefix('/')) {
            Some(name) => IncomingKind::Command { name: name.into(), args: words.map(str::to_owned).collect() },
            None => IncomingKind::Text(text.into()),
        };
        self.engine.handle(&self.incoming(user, kind)).await.expect("handled")
    }

    pub async fn press(&self, user: &str, data: &str) -> essaim_chat::Handled {
        self.press_on(user, data, "77").await
    }

    /// A press on the button of a given message (the chat's message id).
    pub async fn press_on(&self, user: &str, data: &str, message_id: &str) -> essaim_chat::Handled {
        let kind = IncomingKind::Button { data: data.into(), message_id: Some(message_id.into()) };
        self.engine.handle(&self.incoming(user, kind)).await.expect("handled")
    }

    /// Every message queued so far, in order.
    pub async fn outbox(&self) -> Vec<Outgoing> {
        self.engine
            .store()
            .outbox()
            .await
            .expect("outbox")
            .into_iter()
            .map(|m| serde_json::from_value(m.payload).expect("outgoing JSON"))
            .collect()
    }

    pub async fn to(&self, user: &str) -> Vec<Outgoing> {
        self.outbox().await.into_iter().filter(|m| m.chat_id == user).collect()
    }

    pub async fn last_to(&self, user: &str) -> String {
        self.to(user).await.last().map(|m| m.text.clone()).unwrap_or_default()
    }

    pub async fn invite(&self, code: &str, supplier: Option<&str>) {
        let role = if supplier.is_some() { essaim_core::Role::Supplier } else { essaim_core::Role::Facilitator };
        let siret = supplier.map(siret);
        self.engine.store().create_invite(code, role, siret.as_ref(), None).await.expect("invite");
    }
}

pub fn button_data(m: &Outgoing, label: &str) -> String {
    m.buttons.iter().flatten().find(|b| b.label == label).map(|b| b.data.clone()).expect("button present")
}
