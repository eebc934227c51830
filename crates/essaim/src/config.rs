//! The one typed configuration: `config/default.toml` (compiled in), then an optional file, then
//! `ESSAIM_*` environment variables (`ESSAIM_SOLVER__TIME_LIMIT_S=10` sets `solver.time_limit_s`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use essaim_core::{ImpactSettings, Sector, SectorInfo, SectorTaxonomy, SupplierKind};
use serde::Deserialize;

/// The shipped defaults; every key is documented there.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub database: DatabaseConfig,
    pub solver: SolverConfig,
    pub campaign: CampaignConfig,
    pub telegram: TelegramConfig,
    pub discord: DiscordConfig,
    pub serve: ServeConfig,
    pub outbox: OutboxConfig,
    pub retention: RetentionConfig,
    pub impact: ImpactConfig,
    pub proposal: ProposalConfig,
    pub api: ApiConfig,
    pub mail: MailConfig,
    pub sectors: Vec<SectorConfig>,
    #[serde(default)]
    pub log: LogConfig,
}

/// `[log]`: how essaim writes its logs on stderr (`--log-format` / `ESSAIM_LOG_FORMAT` override).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
}

/// `log.format`: `text` for a person reading a terminal, `json` (one object a line, with `timestamp`,
/// `level`, `target`, `message` and the event's fields) for a log collector.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The e-mail channel (`[mail]`): on when `smtp_host` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub smtp_host: String,
    pub smtp_port: u16,
    #[serde(deserialize_with = "from_str")]
    pub security: essaim_mail::Security,
    pub from: String,
    pub link_valid_days: u32,
    pub timeout_s: f64,
    pub per_second: u32,
}

/// SMTP credentials and the key of the one-click links: from the environment only.
pub const SMTP_USERNAME_VAR: &str = "ESSAIM_SMTP_USERNAME";
pub const SMTP_PASSWORD_VAR: &str = "ESSAIM_SMTP_PASSWORD";
pub const LINK_KEY_VAR: &str = "ESSAIM_MAIL_LINK_KEY";

impl MailConfig {
    pub fn enabled(&self) -> bool {
        !self.smtp_host.trim().is_empty()
    }

    /// The sender's address (`[mail] from`).
    pub fn from_mailbox(&self) -> Result<essaim_mail::Mailbox> {
        self.from
            .trim()
            .parse()
            .map_err(|e| bad_input!("configuration: mail.from: « {} » is not an address ({e})", self.from))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalConfig {
    pub groupement_kind: essaim_core::GroupementKind,
    pub public_url: String,
    pub ocid_prefix: String,
    pub publisher: String,
    pub validity_days: u32,
    pub vat_rate: f64,
    pub labour_share: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub max_body_bytes: usize,
    pub timeout_s: f64,
    #[serde(default)]
    pub tokens: Vec<ApiTokenConfig>,
    /// SHA-256 of the bearer token `/metrics` asks for (`essaim token hash TOKEN`); empty: `/metrics` is
    /// open (it holds counts and durations, no tender, SIRET or chat id).
    #[serde(default)]
    pub metrics_sha256: String,
}

impl ApiConfig {
    /// The `/metrics` token's hash, checked: 64 hex digits, or none.
    pub fn metrics_token(&self) -> Result<Option<String>> {
        let sha256 = self.metrics_sha256.trim().to_ascii_lowercase();
        if sha256.is_empty() {
            return Ok(None);
        }
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad_input!(
                "configuration: api.metrics_sha256 must be 64 hex digits (essaim token hash TOKEN prints it)"
            ));
        }
        Ok(Some(sha256))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiTokenConfig {
    pub role: TokenRole,
    #[serde(default)]
    pub buyer: Option<String>,
    pub sha256: String,
}

/// Whose a token of `[[api.tokens]]` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenRole {
    /// Sees and registers every tender.
    Facilitator,
    /// Sees the tenders of its `buyer` SIRET only.
    Buyer,
}

/// How Telegram's updates come in (`telegram.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    /// essaim asks Telegram (long polling): nothing to expose.
    Polling,
    /// Telegram posts to `serve`'s HTTP listener.
    Webhook,
}

/// How Discord's interactions come in (`discord.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscordMode {
    /// Discord posts to `/discord/interactions` on `serve`'s HTTP listener.
    Interactions,
    /// essaim holds a gateway connection.
    Gateway,
}

/// A value read through its `FromStr` (an SMTP security), its error said as the type says it.
fn from_str<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr<Err: std::fmt::Display>,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// A solver backend this build has (`highs` only with `--features highs`).
fn backend<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<essaim_solver::Backend, D::Error> {
    let name = String::deserialize(deserializer)?;
    essaim_solver::Backend::from_name(&name).ok_or_else(|| {
        let names: Vec<&str> = essaim_solver::Backend::AVAILABLE.iter().map(|b| b.name()).collect();
        serde::de::Error::custom(format!("{name:?} is not built in (this build has: {})", names.join(", ")))
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverConfig {
    pub time_limit_s: f64,
    /// Branch-and-bound nodes per component: with it, a run gives the same lots every time.
    #[serde(default)]
    pub work_limit: Option<u64>,
    /// `microlp` (built in) or `highs` (when built with `--features highs`).
    #[serde(deserialize_with = "backend")]
    pub backend: essaim_solver::Backend,
    pub per_unit_km: f64,
    pub per_lot: f64,
    pub per_unit_shortfall: f64,
    pub per_clause_hour_shortfall: f64,
    pub per_unit_fairness: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignConfig {
    pub language: essaim_core::Lang,
    pub time_zone: String,
    pub response_hours: f64,
    pub duration_hours: f64,
    pub reminder_schedule: String,
    pub tick_s: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    #[serde(default)]
    pub api_url: Option<String>,
    pub mode: TelegramMode,
    pub poll_timeout_s: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxConfig {
    pub lease_s: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub inbox_days: u32,
    pub outbox_days: u32,
}

impl RetentionConfig {
    pub fn retention(&self) -> essaim_chat::Retention {
        essaim_chat::Retention {
            inbox: chrono::Duration::days(i64::from(self.inbox_days)),
            outbox: chrono::Duration::days(i64::from(self.outbox_days)),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    #[serde(default)]
    pub api_url: Option<String>,
    pub application_id: u64,
    pub public_key: String,
    pub mode: DiscordMode,
    pub register_commands: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    pub listen: String,
    /// Seconds a client has to send the headers of a request before the connection is closed.
    pub header_read_timeout_s: f64,
    /// The name this process dispatches the outbox under, the same across its restarts; blank: the
    /// host's name. See [`ServeConfig::instance`].
    pub instance: String,
}

impl ServeConfig {
    /// The dispatcher's instance name: `serve.instance`, else the host's name. A restarted `serve` takes
    /// back at once what its previous run of the same name had in flight; two live processes never
    /// dispatch under one name (the second waits for the first to stop).
    pub fn instance(&self) -> String {
        let configured = self.instance.trim();
        if !configured.is_empty() {
            return configured.to_owned();
        }
        host_name().unwrap_or_else(|| "essaim".to_owned())
    }
}

/// The host's name, as the kernel or the environment knows it.
fn host_name() -> Option<String> {
    let from_file = |path: &str| std::fs::read_to_string(path).ok();
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactConfig {
    pub hours_per_etp: f64,
    pub local_radius_km: f64,
    pub hours_per_trip: f64,
    pub co2_kg_per_km: f64,
    pub insertion_rate: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectorConfig {
    pub slug: String,
    pub label_fr: String,
    pub label_en: String,
    pub unit: String,
    /// Share of a price in this sector that is labour cost (the OETH estimate); `proposal.labour_share`
    /// when absent.
    #[serde(default)]
    pub labour_share: Option<f64>,
}

impl Config {
    /// Defaults, overlaid with `file` (when given) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        Self::load_with_env(file, std::env::vars())
    }

    pub fn load_with_env(file: Option<&Path>, env: impl Iterator<Item = (String, String)>) -> Result<Self> {
        let mut value: toml::Table = DEFAULT_TOML.parse().context("the built-in config/default.toml is broken")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
            let overlay: toml::Table = text.parse().map_err(|e| bad_input!("{}: {e}", path.display()))?;
            merge(&mut value, overlay);
        }
        for (key, raw) in env {
            // The name docs/ARCHITECTURE.md (interfaces) gives the Telegram API URL.
            if key == "ESSAIM_TELEGRAM_API_URL" {
                set_path(&mut value, &["telegram".to_owned(), "api_url".to_owned()], &raw)
                    .map_err(|e| bad_input!("{key}: {e}"))?;
                continue;
            }
            // ESSAIM_DATABASE_URL, ESSAIM_DATA_DIR, ESSAIM_CONFIG are options of the command line.
            let Some(path) = key.strip_prefix("ESSAIM_").filter(|p| p.contains("__")) else { continue };
            let parts: Vec<String> = path.split("__").map(str::to_lowercase).collect();
            set_path(&mut value, &parts, &raw).map_err(|e| bad_input!("{key}: {e}"))?;
        }
        // A bad value names its key (`campaign.language: unknown variant…`), wherever it was set.
        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(value)).map_err(|e| {
            let path = e.path().to_string();
            bad_input!("configuration: {path}: {}", e.into_inner())
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        self.bid_settings()?;
        self.api_tokens()?;
        let header = self.serve.header_read_timeout_s;
        if !header.is_finite() || header <= 0.0 || header > 3600.0 {
            return Err(bad_input!(
                "configuration: serve.header_read_timeout_s: {header} must be a number of seconds in ]0, 3600]"
            ));
        }
        if !self.api.timeout_s.is_finite() || self.api.timeout_s <= 0.0 {
            return Err(bad_input!("configuration: api.timeout_s: {} must be a positive number", self.api.timeout_s));
        }
        let s = &self.solver;
        for (name, v) in [
            ("solver.time_limit_s", s.time_limit_s),
            ("solver.per_unit_km", s.per_unit_km),
            ("solver.per_lot", s.per_lot),
            ("solver.per_unit_shortfall", s.per_unit_shortfall),
            ("solver.per_clause_hour_shortfall", s.per_clause_hour_shortfall),
            ("solver.per_unit_fairness", s.per_unit_fairness),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(bad_input!("configuration: {name}: {v} must be a finite number ≥ 0"));
            }
        }
        for kind in self.impact.insertion_rate.keys() {
            SupplierKind::parse_field("impact.insertion_rate", kind).map_err(|e| bad_input!("configuration: {e}"))?;
        }
        let c = &self.campaign;
        for (name, v) in [
            ("campaign.response_hours", c.response_hours),
            ("campaign.duration_hours", c.duration_hours),
            ("campaign.tick_s", c.tick_s),
            ("outbox.lease_s", self.outbox.lease_s),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(bad_input!("configuration: {name}: {v} must be a positive number"));
            }
        }
        self.engine_settings()?;
        if self.sectors.is_empty() {
            return Err(bad_input!("configuration: sectors: the taxonomy is empty"));
        }
        self.taxonomy()?;
        Ok(())
    }

    pub fn taxonomy(&self) -> Result<SectorTaxonomy> {
        let mut infos = Vec::new();
        for s in &self.sectors {
            let slug = Sector::parse("sectors.slug", &s.slug).map_err(|e| bad_input!("configuration: {e}"))?;
            infos.push(SectorInfo {
                slug,
                label_fr: s.label_fr.clone(),
                label_en: s.label_en.clone(),
                unit: s.unit.clone(),
            });
        }
        Ok(SectorTaxonomy::new(infos))
    }

    /// The tokens of `[[api.tokens]]`, checked.
    pub fn api_tokens(&self) -> Result<Vec<essaim_api::StaticToken>> {
        self.api
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let bad = |what: String| bad_input!("configuration: api.tokens[{i}]: {what}");
                let sha256 = t.sha256.trim().to_ascii_lowercase();
                if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(bad("sha256 must be 64 hex digits (essaim token hash TOKEN prints it)".into()));
                }
                let access = match (t.role, t.buyer.as_deref()) {
                    (TokenRole::Facilitator, _) => essaim_api::Access::Facilitator,
                    (TokenRole::Buyer, Some(siret)) => essaim_api::Access::Buyer(
                        essaim_core::Siret::parse(siret).map_err(|e| bad(format!("buyer: {e}")))?,
                    ),
                    (TokenRole::Buyer, None) => return Err(bad("a buyer token needs `buyer = \"SIRET\"`".into())),
                };
                Ok(essaim_api::StaticToken { sha256, access })
            })
            .collect()
    }

    /// How buttons become links in mails: the key from the environment, the base URL of `serve`.
    pub fn mail_links(&self, key: &[u8]) -> Result<essaim_mail::Links> {
        let key = essaim_mail::LinkKey::new(key.to_vec()).map_err(|e| bad_input!("{LINK_KEY_VAR}: {e}"))?;
        let Some(base_url) = self.public_url() else {
            return Err(bad_input!("the e-mail channel needs proposal.public_url: its links lead to `essaim serve`"));
        };
        Ok(essaim_mail::Links {
            key,
            base_url,
            valid_for: chrono::Duration::days(i64::from(self.mail.link_valid_days)),
        })
    }

    /// The SMTP server, when `[mail] smtp_host` is set; credentials from the environment.
    pub fn smtp_settings(&self, env: impl Fn(&str) -> Option<String>) -> Result<Option<essaim_mail::SmtpSettings>> {
        let m = &self.mail;
        if !m.enabled() {
            return Ok(None);
        }
        if !m.timeout_s.is_finite() || m.timeout_s <= 0.0 {
            return Err(bad_input!("configuration: mail.timeout_s: {} must be a positive number", m.timeout_s));
        }
        let credentials = match (env(SMTP_USERNAME_VAR), env(SMTP_PASSWORD_VAR)) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            _ => return Err(bad_input!("set both {SMTP_USERNAME_VAR} and {SMTP_PASSWORD_VAR}, or neither")),
        };
        Ok(Some(essaim_mail::SmtpSettings {
            host: m.smtp_host.trim().to_owned(),
            port: m.smtp_port,
            security: m.security,
            credentials,
            from: m.from_mailbox()?,
            timeout: Duration::from_secs_f64(m.timeout_s),
        }))
    }

    /// `proposal.public_url` without its trailing `/`; `None` when not set.
    fn public_url(&self) -> Option<String> {
        Some(self.proposal.public_url.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty())
    }

    /// How bids are written: VAT, validity, labour shares, time zone (partial lines are marked by default).
    pub fn bid_settings(&self) -> Result<essaim_core::proposal::BidSettings> {
        let p = &self.proposal;
        let share = |name: String, v: f64| {
            if v.is_finite() && (0.0..=1.0).contains(&v) {
                Ok(v)
            } else {
                Err(bad_input!("configuration: {name}: {v} must be within 0..=1"))
            }
        };
        let mut labour_share = BTreeMap::new();
        for s in &self.sectors {
            if let Some(v) = s.labour_share {
                let sector = Sector::parse("sectors.slug", &s.slug).map_err(|e| bad_input!("configuration: {e}"))?;
                labour_share.insert(sector, share(format!("sectors.{}.labour_share", s.slug), v)?);
            }
        }
        let time_zone = self.campaign.time_zone.parse().map_err(|_| {
            bad_input!("configuration: campaign.time_zone: « {} » is not a time zone", self.campaign.time_zone)
        })?;
        Ok(essaim_core::proposal::BidSettings {
            vat_rate: share("proposal.vat_rate".into(), p.vat_rate)?,
            validity_days: p.validity_days,
            labour_share,
            default_labour_share: share("proposal.labour_share".into(), p.labour_share)?,
            time_zone,
            partial_lines: essaim_core::proposal::PartialLines::Mark,
        })
    }

    pub fn proposal_settings(&self) -> Result<essaim_api::ProposalSettings> {
        Ok(essaim_api::ProposalSettings {
            bid: self.bid_settings()?,
            impact: self.impact_settings(),
            groupement_kind: self.proposal.groupement_kind,
            default_lang: self.campaign.language,
            ocds: essaim_core::proposal::ocds::OcdsOptions {
                ocid_prefix: self.proposal.ocid_prefix.clone(),
                publisher: self.proposal.publisher.clone(),
                ..essaim_core::proposal::ocds::OcdsOptions::default()
            },
            public_url: self.public_url(),
        })
    }

    pub fn impact_settings(&self) -> ImpactSettings {
        let mut settings = ImpactSettings {
            hours_per_etp: self.impact.hours_per_etp,
            local_radius_km: self.impact.local_radius_km,
            hours_per_trip: self.impact.hours_per_trip,
            co2_kg_per_km: self.impact.co2_kg_per_km,
            ..ImpactSettings::default()
        };
        for (kind, rate) in &self.impact.insertion_rate {
            if let Ok(kind) = SupplierKind::parse_field("kind", kind) {
                settings.insertion_rate.insert(kind, *rate);
            }
        }
        settings
    }

    /// What the conversation engine, the scheduler and the demo need.
    pub fn engine_settings(&self) -> Result<essaim_chat::EngineSettings> {
        let c = &self.campaign;
        let time_zone: chrono_tz::Tz = c
            .time_zone
            .parse()
            .map_err(|_| bad_input!("configuration: campaign.time_zone: « {} » is not a time zone", c.time_zone))?;
        let settings = essaim_chat::EngineSettings {
            default_lang: c.language,
            time_zone,
            response_time: chrono::Duration::milliseconds((c.response_hours * 3_600_000.0) as i64),
            campaign_duration: chrono::Duration::milliseconds((c.duration_hours * 3_600_000.0) as i64),
            reminder_schedule: c.reminder_schedule.clone(),
            tick: Duration::from_secs_f64(c.tick_s),
            weights: self.weights(),
            solve: self.solve_settings(),
            taxonomy: self.taxonomy()?,
            proposal: essaim_chat::ProposalDelivery {
                bid: self.bid_settings()?,
                impact: self.impact_settings(),
                groupement_kind: self.proposal.groupement_kind,
                public_url: self.public_url(),
            },
            email: self.mail.enabled(),
        };
        essaim_chat::scheduler::parse_schedule(&settings.reminder_schedule)
            .map_err(|e| bad_input!("configuration: campaign.reminder_schedule: {e}"))?;
        Ok(settings)
    }

    pub fn weights(&self) -> essaim_solver::Weights {
        essaim_solver::Weights {
            per_unit_km: self.solver.per_unit_km,
            per_lot: self.solver.per_lot,
            per_unit_shortfall: self.solver.per_unit_shortfall,
            per_clause_hour_shortfall: self.solver.per_clause_hour_shortfall,
            per_unit_fairness: self.solver.per_unit_fairness,
        }
    }

    pub fn solve_settings(&self) -> essaim_solver::SolveSettings {
        essaim_solver::SolveSettings {
            time_limit: Duration::from_secs_f64(self.solver.time_limit_s),
            work_limit: self.solver.work_limit,
            backend: self.solver.backend,
        }
    }
}

/// Deep-merges tables; arrays and scalars are replaced whole (so a `[[sectors]]` list replaces the
/// default taxonomy rather than extending it).
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

fn set_path(table: &mut toml::Table, parts: &[String], raw: &str) -> Result<(), String> {
    let (last, parents) = parts.split_last().ok_or("empty key")?;
    let mut current = table;
    for p in parents {
        let entry = current.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry.as_table_mut().ok_or_else(|| format!("{p} is not a section"))?;
    }
    // Keep the type of the value it replaces, so that "10" sets a number where a number is expected.
    let parsed = match current.get(last) {
        Some(toml::Value::Float(_)) => {
            toml::Value::Float(raw.trim().parse().map_err(|_| format!("« {raw} » is not a number"))?)
        }
        Some(toml::Value::Integer(_)) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| format!("« {raw} » is not an integer"))?)
        }
        Some(toml::Value::Boolean(_)) => {
            toml::Value::Boolean(raw.trim().parse().map_err(|_| format!("« {raw} » is not true or false"))?)
        }
        _ => toml::Value::String(raw.to_owned()),
    };
    current.insert(last.clone(), parsed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BadInput;

    #[test]
    fn defaults_load_and_match_the_allocation_contract() {
        let c = Config::load_with_env(None, std::iter::empty()).unwrap();
        assert_eq!((c.solver.per_unit_km, c.solver.per_lot, c.solver.per_unit_shortfall), (1.0, 50.0, 10000.0));
        assert_eq!(c.solver.time_limit_s, 30.0);
        assert!(c.taxonomy().unwrap().resolve("sector", "espaces_verts").is_ok());
        assert_eq!(c.impact_settings().insertion_rate[&SupplierKind::Esat], 1.0);
    }

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("essaim.toml");
        std::fs::write(&file, "[solver]\ntime_limit_s = 5.0\n[impact]\nco2_kg_per_km = 0.1\n").unwrap();
        let env = [("ESSAIM_SOLVER__TIME_LIMIT_S".to_owned(), "2".to_owned())];
        let c = Config::load_with_env(Some(&file), env.into_iter()).unwrap();
        assert_eq!(c.solver.time_limit_s, 2.0);
        assert_eq!(c.impact.co2_kg_per_km, 0.1);
        assert_eq!(c.solver.per_lot, 50.0);
    }

    #[test]
    fn the_dispatcher_instance_is_the_configured_name_or_the_hosts() {
        let named = [("ESSAIM_SERVE__INSTANCE".to_owned(), " replica-7 ".to_owned())];
        assert_eq!(Config::load_with_env(None, named.into_iter()).unwrap().serve.instance(), "replica-7");
        let unnamed = Config::load_with_env(None, std::iter::empty()).unwrap().serve.instance();
        assert_eq!(unnamed, host_name().unwrap_or_else(|| "essaim".into()));
        assert!(!unnamed.trim().is_empty());
    }

    #[test]
    fn closed_sets_are_typed_at_load_and_a_bad_value_names_its_key() {
        let env = |key: &str, value: &str| [(key.to_owned(), value.to_owned())].into_iter();
        let c = Config::load_with_env(None, env("ESSAIM_TELEGRAM__MODE", "webhook")).unwrap();
        assert_eq!(c.telegram.mode, TelegramMode::Webhook, "the environment still overrides a mode");
        assert_eq!((c.campaign.language, c.discord.mode), (essaim_core::Lang::Fr, DiscordMode::Interactions));
        let c = Config::load_with_env(None, env("ESSAIM_CAMPAIGN__LANGUAGE", "en")).unwrap();
        assert_eq!(c.proposal_settings().unwrap().default_lang, essaim_core::Lang::En);
        for (key, value, says) in [
            ("ESSAIM_CAMPAIGN__LANGUAGE", "de", "configuration: campaign.language: unknown variant `de`"),
            ("ESSAIM_TELEGRAM__MODE", "carrier", "configuration: telegram.mode: unknown variant `carrier`"),
            ("ESSAIM_DISCORD__MODE", "polling", "configuration: discord.mode: unknown variant `polling`"),
            ("ESSAIM_PROPOSAL__GROUPEMENT_KIND", "mixte", "configuration: proposal.groupement_kind: unknown variant"),
            ("ESSAIM_SOLVER__BACKEND", "cplex", "configuration: solver.backend: \"cplex\" is not built in"),
            ("ESSAIM_MAIL__SECURITY", "ssl", "configuration: mail.security: « ssl » is not an SMTP security"),
        ] {
            let err = Config::load_with_env(None, env(key, value)).unwrap_err();
            assert!(err.downcast_ref::<BadInput>().is_some(), "{key}: {err}");
            assert!(err.to_string().starts_with(says), "{key}: {err}");
        }
        // In a file too, and inside an array of tables.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("essaim.toml");
        std::fs::write(&file, "[[api.tokens]]\nrole = \"admin\"\nsha256 = \"00\"\n").unwrap();
        let err = Config::load_with_env(Some(&file), std::iter::empty()).unwrap_err();
        assert!(err.to_string().starts_with("configuration: api.tokens[0].role: unknown variant `admin`"), "{err}");
    }

    #[test]
    fn the_shipped_example_of_a_production_configuration_loads() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/example.production.toml");
        let c = Config::load_with_env(Some(&file), std::iter::empty()).unwrap();
        assert_eq!(c.proposal.groupement_kind, essaim_core::GroupementKind::Conjoint);
    }

    #[test]
    fn a_bad_value_is_a_bad_input_naming_the_key() {
        let env = [("ESSAIM_SOLVER__PER_LOT".to_owned(), "beaucoup".to_owned())];
        let err = Config::load_with_env(None, env.into_iter()).unwrap_err();
        assert!(err.downcast_ref::<BadInput>().is_some());
        assert!(err.to_string().contains("ESSAIM_SOLVER__PER_LOT"), "{err}");
    }
}
