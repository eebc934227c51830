//! The answer pages in a real browser: a campaign's offer mails are composed as the SMTP sender composes
//! them (into a memory mailbox), and their one-click links are opened in headless Chromium, driven
//! through WebDriver (chromedriver) the way a person uses them — reading the page, clicking the confirm
//! button, choosing a reason, typing a quantity. The test checks what the page shows and what the store
//! recorded. On every backend.
//!
//! `tests/smtp.rs` checks the same pages over plain HTTP; this one checks that a real browser, with the
//! pages' CSP, their forms without scripts and its own form submission, gets the same answers recorded.
//!
//! Debian's `chromium` and `chromium-driver` packages (`.ci/run` installs them). Without them the test
//! says so and passes, unless `ESSAIM_TEST_REQUIRE_CHROMIUM=1` (CI sets it) makes their absence a
//! failure. `ESSAIM_CHROMIUM` and `ESSAIM_CHROMEDRIVER` name other binaries.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use essaim_chat::{Dispatcher, Engine, Incoming, IncomingKind, Limits, Platform};
use essaim_core::{OfferState, TenderRef};
use essaim_mail::{Delivered, LinkKey, Links, Mailbox, MemoryMailbox};
use essaim_store::Store;
use essaim_store::testing::with_each_backend;
use fantoccini::{Client, ClientBuilder, Locator};
use tokio::sync::Notify;

mod common;
use common::*;

/// Longest wait for one page after a click: a form post on loopback takes milliseconds.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_browser_answers_offers_through_the_mail_links() {
    let Some(browser) = Browser::start().await else { return };
    let browser = Arc::new(browser);
    with_each_backend(|store| {
        let browser = browser.clone();
        async move {
            territory(&store).await;
            let engine = Engine::new(store.clone(), settings(), Arc::new(Notify::new()));
            let base = serve_pages(engine.clone()).await;
            let links = Links { key: LinkKey::new(KEY).expect("key"), base_url: base, valid_for: days(14) };
            let from: Mailbox = "essaim <campagnes@essaim.example>".parse().expect("from");
            // The memory mailbox composes each mail as the SMTP sender does and keeps its signed links.
            let mailbox = MemoryMailbox::new(from, links.clone(), chrono::Utc::now);
            let dispatcher =
                Dispatcher::new(store.clone()).with_sender(Platform::Email, mailbox.clone(), Limits::none());

            // The facilitator (a Telegram account) launches; the three structures have no chat account
            // and are reached at their directory address.
            store.create_invite("FAC-MAIL", essaim_core::Role::Facilitator, None, None).await?;
            let fac = |n: u64, name: &str, arg: &str| Incoming {
                platform: Platform::Telegram,
                update_id: format!("u{n}"),
                user_id: "fac".into(),
                chat_id: "fac".into(),
                user_name: None,
                language: Some("fr".into()),
                chat: essaim_chat::ChatKind::Private,
                kind: IncomingKind::Command { name: name.into(), args: vec![arg.into()] },
            };
            engine.handle(&fac(1, "start", "FAC-MAIL")).await.expect("start");
            engine.handle(&fac(2, "repartir", "T-MAIL")).await.expect("launch");
            while dispatcher.run_once().await? > 0 {}
            let mails = mailbox.take();
            assert_eq!(mails.len(), 3, "one offer mail per structure: {mails:?}");
            let link = |local: &str, label: &str| link_in(&mails, local, label);

            // An expired link first, while every offer is still open: the page says the link expired, has
            // no form, and the offer stays open — on an answered offer « nothing changed » would prove
            // nothing. The link is signed with the real key, only its validity is in the past.
            let expired = Links { valid_for: -days(1), ..links.clone() };
            let button = essaim_chat::Button {
                label: "Accepter".into(),
                data: data_of(&store, A, "ok").await,
                asks_quantity: false,
            };
            let events = campaign_events(&store).await;
            browser.open(&expired.url(&button, chrono::Utc::now())).await;
            let text = browser.text().await;
            assert!(text.contains("expiré") && text.contains("Rien n'a été enregistré"), "{text}");
            assert_eq!(browser.count("form").await, 0, "an expired link offers nothing to send: {text}");
            assert_eq!(offer_state(&store, A).await, OfferState::Open);
            assert_eq!(campaign_events(&store).await, events, "an expired link records nothing");

            // A opens « Accepter »: the page shows the offer and asks to confirm; opening it records
            // nothing (mail scanners open links too). Clicking the button does.
            browser.open(&link("a", "Accepter")).await;
            let text = browser.text().await;
            assert!(text.contains("Nettoyage près de Atelier A") && text.contains("50 h"), "the offer: {text}");
            assert!(browser.text_of("#confirm").await.contains("Confirmer : j'accepte 50 h"), "{text}");
            assert_eq!(browser.count("#recorded").await, 0, "nothing recorded yet: {text}");
            assert_eq!(offer_state(&store, A).await, OfferState::Open, "opening a link records nothing");
            browser.submit().await;
            let recorded = browser.text_of("#recorded").await;
            assert!(recorded.contains("Vous avez accepté 50 h"), "{recorded}");
            assert!(
                matches!(offer_state(&store, A).await, OfferState::Accepted { quantity, .. } if quantity == 50.0),
                "A's offer should be accepted for 50 h"
            );

            // B opens « Refuser », picks « Site trop loin » instead of the preselected reason, types a
            // precision and sends: the refusal is stored with both.
            browser.open(&link("b", "Refuser")).await;
            assert!(browser.text().await.contains("Pourquoi refusez-vous ?"));
            browser.click("input[name=\"reason\"][value=\"distance\"]").await;
            assert!(browser.selected("input[name=\"reason\"][value=\"distance\"]").await, "the chosen reason");
            assert!(!browser.selected("input[name=\"reason\"][value=\"capacité\"]").await, "one reason only");
            browser.type_into("textarea#detail", "le site est à 40 km de nos équipes").await;
            browser.submit().await;
            let recorded = browser.text_of("#recorded").await;
            assert!(recorded.contains("Vous avez refusé cette offre (distance — le site est à 40 km"), "{recorded}");
            match offer_state(&store, B).await {
                OfferState::Declined { reason: Some(reason), .. } => assert!(
                    reason.contains("distance") && reason.contains("le site est à 40 km de nos équipes"),
                    "{reason}"
                ),
                other => panic!("B's offer should be declined with its reason, is {other:?}"),
            }

            // C opens « Accepter une partie »: a word, then a quantity above the offer, are explained on
            // the page and keep the form, the offer still open; 30 is taken.
            browser.open(&link("c", "Accepter une partie")).await;
            assert!(browser.text().await.contains("Quantité que vous prenez, entre"));
            for wrong in ["beaucoup", "500"] {
                browser.type_into("input#quantity", wrong).await;
                browser.submit().await;
                let error = browser.text_of(".error").await;
                assert!(error.contains("Quantité non valable") && error.contains("et 50"), "« {wrong} »: {error}");
                assert_eq!(browser.count("input#quantity").await, 1, "the form stays after « {wrong} »");
                assert_eq!(browser.count("#recorded").await, 0, "« {wrong} » is not recorded");
                assert_eq!(offer_state(&store, C).await, OfferState::Open, "« {wrong} » records nothing");
            }
            browser.type_into("input#quantity", "30").await;
            browser.submit().await;
            let recorded = browser.text_of("#recorded").await;
            assert!(recorded.contains("Vous avez accepté 30 h sur 50 h"), "{recorded}");
            assert!(
                matches!(offer_state(&store, C).await, OfferState::Accepted { quantity, .. } if quantity == 30.0),
                "C's offer should be accepted for 30 h"
            );
            Ok::<_, essaim_store::StoreError>(())
        }
    })
    .await;
    browser.close().await;
}

/// Headless Chromium behind its own chromedriver on a free loopback port, with a fresh profile.
struct Browser {
    client: Client,
    /// Dropped last: kills the driver and the browser, also when the test fails half-way.
    _driver: Driver,
}

/// The chromedriver process (and the browser it starts, in its process group) and their files.
struct Driver {
    child: Child,
    /// The browser's profile and the driver's log, removed once the processes are gone.
    dir: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole process group (`-PGID`), the browser with the driver. Spelled `-s KILL -- -PGID`:
        // Debian 12's procps kill reads `kill -KILL -PGID` as a signal to process group 9.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// The running browser, or `None` (the test is skipped) when Chromium or chromedriver is missing.
    async fn start() -> Option<Self> {
        let (Some(chromium), Some(chromedriver)) = (
            binary("ESSAIM_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]),
            binary("ESSAIM_CHROMEDRIVER", &["chromedriver"]),
        ) else {
            let required = std::env::var("ESSAIM_TEST_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "ESSAIM_TEST_REQUIRE_CHROMIUM=1 but chromium or chromedriver is missing \
                 (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipped: chromium or chromedriver is missing (apt-get install chromium chromium-driver)");
            return None;
        };
        let dir = tempfile::tempdir().expect("a folder for the browser profile");
        let log = dir.path().join("chromedriver.log");
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut command = Command::new(&chromedriver);
        command
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so that the drop kills the browser it starts with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let driver = Driver { child, dir };
        let driver_log = || std::fs::read_to_string(&log).unwrap_or_default();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < PAGE_TIMEOUT, "chromedriver did not listen on port {port}:\n{}", driver_log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // French pages, as the structures read them (the pages follow Accept-Language); no sandbox, as
        // root in a container; the profile in the temporary folder.
        let profile = driver.dir.path().join("profile");
        let options = serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--lang=fr-FR",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "intl.accept_languages": "fr-FR,fr" },
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {}: {e}\n{}", chromium.display(), driver_log()));
        Some(Self { client, _driver: driver })
    }

    /// Opens `url` as a click on a mail's link does, and waits for the page.
    async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("the browser could not open {url}: {e}"));
        let lang = self.client.find(Locator::Css("html")).await.expect("a page").attr("lang").await.expect("lang");
        assert_eq!(lang.as_deref(), Some("fr"), "the browser asks for French pages");
    }

    /// The page's text as the reader sees it.
    async fn text(&self) -> String {
        self.text_of("body").await
    }

    /// The visible text of the element `css`.
    async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        element.text().await.unwrap_or_else(|e| panic!("no text for {css}: {e}"))
    }

    /// How many elements match `css` on the page.
    async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap_or_else(|e| panic!("looking for {css}: {e}")).len()
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                let source = self.client.source().await.unwrap_or_default();
                panic!("no {css} on the page ({e}):\n{source}")
            }
        }
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    async fn selected(&self, css: &str) -> bool {
        self.find(css).await.is_selected().await.unwrap_or_else(|e| panic!("{css} selected? {e}"))
    }

    /// Empties the field `css`, then types `text` into it key by key.
    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("cannot clear {css}: {e}"));
        field.send_keys(text).await.unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// Clicks the form's button (`#confirm`) and waits for the page the post answers with: until the
    /// document's root is another node, since an error page comes back at the same address. While the
    /// browser is between two documents the driver may answer with an error: that is waited out too.
    async fn submit(&self) {
        let before = self.find("html").await.element_id();
        self.click("#confirm").await;
        let started = Instant::now();
        loop {
            let last = match self.client.find(Locator::Css("html")).await {
                Ok(root) if root.element_id() != before => return,
                Ok(_) => "the same page".to_owned(),
                Err(e) => e.to_string(),
            };
            assert!(started.elapsed() < PAGE_TIMEOUT, "no new page within {PAGE_TIMEOUT:?} after the click: {last}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the WebDriver session (the browser quits); the drop then stops the driver.
    async fn close(&self) {
        if let Err(e) = self.client.clone().close().await {
            eprintln!("the browser session did not close cleanly: {e}");
        }
    }
}

/// `var` when set, else the first of `names` on the PATH.
fn binary(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(b) = std::env::var_os(var).filter(|b| !b.is_empty()) {
        return Some(PathBuf::from(b));
    }
    let path = std::env::var_os("PATH")?;
    names
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The link under `label` in the offer mail to `direction-LOCAL@…`.
fn link_in(mails: &[Delivered], local: &str, label: &str) -> String {
    let mail = mails
        .iter()
        .find(|m| m.to.starts_with(&format!("direction-{local}@")))
        .unwrap_or_else(|| panic!("no mail to direction-{local}@: {mails:?}"));
    mail.links
        .iter()
        .find(|(l, _)| l == label)
        .map(|(_, url)| url.clone())
        .unwrap_or_else(|| panic!("no « {label} » link in the mail to {}: {:?}", mail.to, mail.links))
}

/// How many events the campaign's log holds.
async fn campaign_events(store: &Store) -> usize {
    let tender = TenderRef::parse("r", "T-MAIL").expect("ref");
    store.campaign_log(&tender).await.expect("the campaign's log").events.len()
}
