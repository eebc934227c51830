//! Time-driven work: offers that expire, campaign deadlines, and reminders on a cron schedule (in the
//! configured time zone). A reminder occurrence missed while the service was down fires once at
//! start-up; the store records each occurrence so that several replicas fire it once.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use cron::Schedule;

use crate::EngineError;
use crate::campaigns;
use crate::engine::Engine;

const REMINDER_JOB: &str = "reminders";

/// Reads a cron expression: the usual five fields (`0 9 * * 1-5`, days of week 0–7 with 0 and 7 =
/// Sunday) or the `cron` crate's own form with seconds first.
pub fn parse_schedule(expression: &str) -> Result<Schedule, EngineError> {
    let fields: Vec<&str> = expression.split_whitespace().collect();
    let normalised = if fields.len() == 5 {
        // The cron crate numbers days from 1 = Sunday; spell them out to keep the usual meaning.
        let dow = fields[4]
            .split(',')
            .map(|part| part.split('-').map(day_name).collect::<Vec<_>>().join("-"))
            .collect::<Vec<_>>()
            .join(",");
        format!("0 {} {} {} {} {dow}", fields[0], fields[1], fields[2], fields[3])
    } else {
        expression.to_owned()
    };
    Schedule::from_str(&normalised).map_err(|e| EngineError::Config(format!("reminder schedule « {expression} »: {e}")))
}

fn day_name(token: &str) -> String {
    let (value, step) = token.split_once('/').map_or((token, None), |(v, s)| (v, Some(s)));
    let name = match value {
        "0" | "7" => "Sun",
        "1" => "Mon",
        "2" => "Tue",
        "3" => "Wed",
        "4" => "Thu",
        "5" => "Fri",
        "6" => "Sat",
        other => other,
    };
    match step {
        Some(s) => format!("{name}/{s}"),
        None => name.to_owned(),
    }
}

/// How long delivered chat traffic is kept: inbox rows (the ids of updates handled, which make a
/// redelivery harmless) and sent or failed outbox rows (texts and chat ids). The campaign log keeps what
/// was decided; these only serve delivery.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub inbox: Duration,
    pub outbox: Duration,
}

impl Retention {
    /// Shorter than this and a redelivered update (platforms retry for a day or so) or a retried decision
    /// could act twice.
    pub const MIN: Duration = Duration::days(7);
}

/// How often the purge runs.
const PURGE_EVERY: Duration = Duration::hours(1);

/// The scheduler of one process.
pub struct Scheduler {
    engine: Engine,
    schedule: Schedule,
    retention: Option<Retention>,
}

impl Scheduler {
    pub fn new(engine: Engine) -> Result<Self, EngineError> {
        let schedule = parse_schedule(&engine.settings().reminder_schedule)?;
        Ok(Self { engine, schedule, retention: None })
    }

    /// Purges delivered traffic older than `retention` (each period at least [`Retention::MIN`]).
    pub fn with_retention(mut self, retention: Retention) -> Result<Self, EngineError> {
        if retention.inbox < Retention::MIN || retention.outbox < Retention::MIN {
            return Err(EngineError::Config(format!(
                "retention: inbox and outbox rows must be kept at least {} days",
                Retention::MIN.num_days()
            )));
        }
        self.retention = Some(retention);
        Ok(self)
    }

    /// Deletes what the retention allows now; returns (inbox rows, outbox rows) removed.
    pub async fn purge(&self) -> Result<(u64, u64), EngineError> {
        let Some(r) = self.retention else { return Ok((0, 0)) };
        let now = self.engine.now();
        Ok(self.engine.store().purge_delivered(now - r.inbox, now - r.outbox).await?)
    }

    /// The latest occurrence at or before `now` (within the last 35 days).
    pub fn last_occurrence(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.engine.settings().time_zone;
        let from = (now - Duration::days(35)).with_timezone(&tz);
        self.schedule.after(&from).take_while(|t| t.with_timezone(&Utc) <= now).last().map(|t| t.with_timezone(&Utc))
    }

    pub fn next_occurrence(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.engine.settings().time_zone;
        self.schedule.after(&now.with_timezone(&tz)).next().map(|t| t.with_timezone(&Utc))
    }

    /// Expiries, reallocations and deadlines of every running campaign. Returns how many campaigns
    /// changed.
    pub async fn tick(&self) -> Result<usize, EngineError> {
        let mut changed = 0;
        for summary in self.engine.store().campaigns().await? {
            if summary.status != "running" {
                continue;
            }
            let engine = &self.engine;
            let applied = engine
                .apply_with_retry(|| async {
                    let Some(loaded) = campaigns::load(engine.store(), &summary.tender).await? else {
                        return Ok(Default::default());
                    };
                    campaigns::tick(engine.store(), engine.settings(), &loaded, engine.now()).await
                })
                .await?;
            changed += usize::from(applied);
        }
        Ok(changed)
    }

    /// Sends the reminders of the latest occurrence if no process has yet. Returns whether it did.
    pub async fn remind_if_due(&self) -> Result<bool, EngineError> {
        let now = self.engine.now();
        let Some(occurrence) = self.last_occurrence(now) else { return Ok(false) };
        if !self.engine.store().claim_job_run(REMINDER_JOB, occurrence).await? {
            return Ok(false);
        }
        tracing::info!(%occurrence, "sending reminders");
        for summary in self.engine.store().campaigns().await? {
            if summary.status != "running" {
                continue;
            }
            let engine = &self.engine;
            engine
                .apply_with_retry(|| async {
                    let Some(loaded) = campaigns::load(engine.store(), &summary.tender).await? else {
                        return Ok(Default::default());
                    };
                    Ok(campaigns::remind(engine.store(), engine.settings(), &loaded, engine.now(), occurrence).await?.0)
                })
                .await?;
        }
        Ok(true)
    }

    /// Runs until `shutdown` resolves: at start the overdue reminder (if any) and a tick, then a tick
    /// every `settings.tick` and the reminders at each occurrence. Errors are logged and retried at the
    /// next tick (a database that is down for a moment must not stop the scheduler).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let tick = self.engine.settings().tick;
        let mut purged_at: Option<DateTime<Utc>> = None;
        loop {
            let now = self.engine.now();
            if self.retention.is_some() && purged_at.is_none_or(|at| now - at >= PURGE_EVERY) {
                match self.purge().await {
                    Ok((inbox, outbox)) => {
                        purged_at = Some(now);
                        if inbox + outbox > 0 {
                            tracing::info!(inbox, outbox, "delivered traffic past its retention purged");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "retention purge failed; will retry"),
                }
            }
            if let Err(e) = self.remind_if_due().await {
                tracing::error!(error = %e, "reminders failed; will retry");
            }
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "scheduler tick failed; will retry");
            }
            let now = self.engine.now();
            let until_reminder = self.next_occurrence(now).and_then(|t| (t - now).to_std().ok()).unwrap_or(tick);
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(tick.min(until_reminder + std::time::Duration::from_millis(10))) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn five_field_expressions_keep_their_usual_meaning() {
        let schedule = parse_schedule("0 9 * * 1-5").expect("valid");
        let tz = chrono_tz::Europe::Paris;
        // Saturday 2026-11-21 10:00 Paris: the next reminder is Monday 09:00 Paris.
        let from = tz.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).single().expect("valid date");
        let next = schedule.after(&from).next().expect("an occurrence");
        assert_eq!(next, tz.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("valid date"));
        assert!(parse_schedule("0 9 * *").is_err());
        assert!(parse_schedule("not a schedule").is_err());
    }
}
