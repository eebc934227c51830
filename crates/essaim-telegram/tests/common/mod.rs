//! Shared by the integration tests: a bot pointed at a fresh fake Telegram.

#![allow(dead_code)]

use std::time::Duration;

use essaim_telegram::TelegramConfig;
use essaim_telegram::fake::FakeTelegram;
use teloxide::Bot;

/// A fake Telegram and a real teloxide client pointed at it (1 s long polls).
pub async fn fake_and_bot() -> (FakeTelegram, Bot) {
    let fake = FakeTelegram::start().await;
    let bot = bot_for(&fake);
    (fake, bot)
}

pub fn bot_for(fake: &FakeTelegram) -> Bot {
    let mut config = TelegramConfig::new(FakeTelegram::TOKEN);
    config.api_url = Some(fake.api_url());
    config.poll_timeout = Duration::from_secs(1);
    essaim_telegram::bot(&config).expect("a bot for the fake")
}
