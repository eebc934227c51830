//! Benchmark of the e-mail channel, with real parts, on a fresh database per case (SQLite always;
//! PostgreSQL too when `ESSAIM_BENCH_POSTGRES_URL` or `ESSAIM_TEST_POSTGRES_URL` is set, or with
//! `-- --postgres URL`: each case on a new schema of that database, dropped afterwards):
//!
//! 1. delivery: N offer-like mails (three signed links each) queued in the outbox, sent by the
//!    dispatcher through `SmtpSender` (lettre) to a real SMTP server on loopback (aiosmtpd's `Sink`,
//!    from PyPI: `pip install aiosmtpd`; without it this part says so and is skipped): mails per second
//!    to many recipients and to a single one (the store hands out only the oldest pending message of a
//!    chat, so one recipient is served one mail at a time), against the same dispatcher with the
//!    in-memory mailbox (store and composition only, no SMTP), and under `mail.per_second = 5`;
//! 2. link click → answer recorded: a campaign of 200 offers (200 structures, each alone within reach
//!    of its own line) launched through the engine, its offer mails delivered to the in-memory mailbox,
//!    the answer pages served by axum on loopback; for each offer, a real HTTP GET of its « Accepter »
//!    link (what a click opens, records nothing) then the POST of its form, timed until the response
//!    arrives (the answer is recorded by then). At the end every offer must be accepted.
//!
//! `cargo bench -p essaim-mail --bench mail` (options: `--mails 500,2000`, `--offers 200`,
//! `--postgres URL`; anything else, such as cargo's `--bench`, is ignored).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use essaim_chat::{
    Button, Dispatcher, Engine, EngineSettings, Incoming, IncomingKind, Limits, Outgoing, Platform, ProposalDelivery,
};
use essaim_core::{
    Buyer, Capacities, Contact, GeoPoint, Groupement, GroupementCode, Lang, OfferState, Sector, SectorInfo,
    SectorTaxonomy, Siret, Supplier, SupplierKind, Tender, TenderLine, TenderRef,
};
use essaim_mail::{LinkKey, Links, Mailbox, MemoryMailbox, Security, SmtpSender, SmtpSettings};
use essaim_store::{Backend, Changeset, NewOutgoing, OutboxStatus, Store};
use tokio::sync::Notify;

type Error = Box<dyn std::error::Error + Send + Sync>;

const KEY: &[u8] = b"a bench key of at least thirty-two bytes, never used in production";
const TENDER: &str = "T-BENCH";
const FROM: &str = "essaim <campagnes@essaim.example>";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

struct Args {
    mails: Vec<usize>,
    offers: usize,
    postgres: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        mails: vec![500, 2000],
        offers: 200,
        postgres: ["ESSAIM_BENCH_POSTGRES_URL", "ESSAIM_TEST_POSTGRES_URL"]
            .iter()
            .find_map(|var| std::env::var(var).ok())
            .map(|url| url.trim().to_owned())
            .filter(|url| !url.is_empty()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let mut value = |name: &str| inline.clone().or_else(|| it.next()).ok_or(format!("{name} needs a value"));
        match name.as_str() {
            "--mails" => {
                let text = value("--mails")?;
                args.mails = text
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse().map_err(|_| format!("--mails: {s:?} is not a number")))
                    .collect::<Result<_, _>>()?;
            }
            "--offers" => {
                let text = value("--offers")?;
                args.offers = text.parse().map_err(|_| format!("--offers: {text:?} is not a number"))?;
            }
            "--postgres" => args.postgres = Some(value("--postgres")?),
            _ => {} // `--bench`, filters, …
        }
    }
    Ok(args)
}

/// A fresh, migrated database: a SQLite file in a temporary directory, or a new schema of the
/// PostgreSQL server (selected through `search_path`, dropped by [`Database::remove`]).
struct Database {
    store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server: String, schema: String },
}

impl Database {
    async fn fresh(postgres: Option<&str>) -> Result<Self, Error> {
        let (url, cleanup) = match postgres {
            None => {
                let dir = tempfile::Builder::new().prefix("essaim-mail-bench-").tempdir()?;
                (format!("sqlite://{}", dir.path().join("bench.db").display()), Cleanup::Sqlite(dir))
            }
            Some(server) => {
                let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
                let schema = format!("essaim_bench_{}_{nanos}", std::process::id());
                admin(server, &format!("CREATE SCHEMA \"{schema}\"")).await?;
                let separator = if server.contains('?') { '&' } else { '?' };
                let url = format!("{server}{separator}options[search_path]={schema}");
                (url, Cleanup::Postgres { server: server.to_owned(), schema })
            }
        };
        let store = Store::connect(&url).await?;
        store.migrate().await?;
        Ok(Self { store, cleanup })
    }

    async fn remove(self) -> Result<(), Error> {
        self.store.close().await;
        if let Cleanup::Postgres { server, schema } = &self.cleanup {
            admin(server, &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).await?;
        }
        Ok(())
    }
}

/// One statement on the PostgreSQL server, outside any bench schema.
async fn admin(server: &str, statement: &str) -> Result<(), Error> {
    let store = Store::connect(server).await?;
    let done = essaim_store::testing::execute_raw(&store, statement).await;
    store.close().await;
    done?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 1. Delivery through SMTP.

/// aiosmtpd on a free loopback port, accepting and discarding every mail (`Sink`).
struct SmtpServer {
    child: Child,
    port: u16,
}

impl SmtpServer {
    fn start() -> Result<Option<Self>, Error> {
        let available = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available {
            return Ok(None);
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Sink"])
            .stdout(Stdio::null())
            .spawn()?;
        let server = Self { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(Some(server));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("aiosmtpd did not listen on port {port} within 10 s").into())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mails` offer-like messages (three buttons, so three signed links and the unsubscribe link per
/// mail) to `recipients` distinct addresses, round robin.
fn offer_mails(mails: usize, recipients: usize) -> Result<Vec<NewOutgoing>, Error> {
    (0..mails)
        .map(|i| {
            let address = format!("direction-{}@structures.example", i % recipients.max(1));
            let offer = i + 1;
            let text = format!(
                "📋 Nouvelle offre — {TENDER} Nettoyage des locaux\n\
                 Lot L{offer} : 50 h de nettoyage, du 01/12/2026 au 31/12/2026\n\
                 Site : 12 rue de la République, 69002 Lyon (0,6 km de chez vous)\n\
                 Montant : 1 250,00 € HT au prix de référence de l'acheteur\n\
                 Répondez avant le 03/12 à 18:00."
            );
            let button = |label: &str, action: &str, asks_quantity| Button {
                label: label.into(),
                data: format!("{action}:{offer}:{TENDER}"),
                asks_quantity,
            };
            let message = Outgoing::text(Platform::Email, &address, text).with_buttons(vec![vec![
                button("Accepter", "ok", false),
                button("Refuser", "no", false),
                button("Accepter une partie", "pt", true),
            ]]);
            Ok(NewOutgoing {
                key: format!("bench:{i}"),
                platform: Platform::Email.as_str().into(),
                chat_id: address,
                payload: serde_json::to_value(&message)?,
            })
        })
        .collect()
}

fn links(base_url: &str) -> Result<Links, Error> {
    Ok(Links { key: LinkKey::new(KEY)?, base_url: base_url.to_owned(), valid_for: chrono::Duration::days(14) })
}

/// Where the SMTP cases send: the loopback server, or the in-memory mailbox.
#[derive(Clone, Copy)]
enum Channel {
    Smtp(u16),
    Memory,
}

/// One delivery case: `mails` queued at once to `recipients` addresses.
#[derive(Clone, Copy)]
struct Case {
    channel: Channel,
    mails: usize,
    recipients: usize,
    limits: Limits,
    /// PostgreSQL only: `ANALYZE outbox` after queueing (a fresh table has no statistics yet).
    analyze: bool,
}

/// How many mails were sent (acknowledged by the server, so marked sent in the outbox) and how long
/// the dispatcher took to settle them all.
async fn deliver(postgres: Option<&str>, case: Case) -> Result<(usize, Duration), Error> {
    let database = Database::fresh(postgres).await?;
    let outcome = deliver_on(&database.store, case).await;
    database.remove().await?;
    outcome
}

async fn deliver_on(store: &Store, case: Case) -> Result<(usize, Duration), Error> {
    store.apply(&Changeset { outbox: offer_mails(case.mails, case.recipients)?, ..Changeset::default() }).await?;
    if case.analyze {
        essaim_store::testing::execute_raw(store, "ANALYZE outbox").await?;
    }
    let links = links("https://essaim.example.org")?;
    let from: Mailbox = FROM.parse()?;
    let dispatcher = Dispatcher::new(store.clone());
    let dispatcher = match case.channel {
        Channel::Smtp(port) => {
            let settings = SmtpSettings {
                host: "127.0.0.1".into(),
                port,
                security: Security::Plain,
                credentials: None,
                from,
                timeout: Duration::from_secs(30),
            };
            dispatcher.with_sender(Platform::Email, SmtpSender::new(&settings, links)?, case.limits)
        }
        Channel::Memory => {
            dispatcher.with_sender(Platform::Email, MemoryMailbox::new(from, links, chrono::Utc::now), case.limits)
        }
    };
    let started = Instant::now();
    while dispatcher.run_once().await? > 0 {}
    let elapsed = started.elapsed();
    // Only what the server acknowledged (SMTP 250 after the data) is marked sent.
    let outbox = store.outbox().await?;
    let sent = outbox.iter().filter(|m| m.status == OutboxStatus::Sent && m.last_error.is_none()).count();
    if let Some(failed) = outbox.iter().find(|m| m.status != OutboxStatus::Sent) {
        eprintln!("  not sent: {} ({:?}): {:?}", failed.key, failed.status, failed.last_error);
    }
    Ok((sent, elapsed))
}

/// Mails to a single recipient go one at a time (about 20/s over SMTP here): a few hundred suffice.
const SINGLE_RECIPIENT_MAILS: usize = 200;

async fn delivery_table(args: &Args, backends: &[(Backend, Option<&str>)]) -> Result<(), Error> {
    let smtp = SmtpServer::start()?;
    println!();
    println!("### 1. Outbox → mail: dispatcher throughput");
    println!();
    if smtp.is_none() {
        println!(
            "SMTP SKIPPED: aiosmtpd is not installed (`pip install aiosmtpd`); only the in-memory mailbox is measured."
        );
        println!();
    }
    println!("| backend | sent to | mails | recipients | limits | sent | time | mails/s |");
    println!("|---|---|---:|---:|---|---:|---:|---:|");
    let mut channels = Vec::new();
    if let Some(smtp) = &smtp {
        channels.push(Channel::Smtp(smtp.port));
    }
    channels.push(Channel::Memory);
    let none = Limits::none();
    let paced = Limits { global_per_second: 5, ..Limits::none() };
    let single = args.mails.iter().copied().min().unwrap_or(SINGLE_RECIPIENT_MAILS).min(SINGLE_RECIPIENT_MAILS);
    let largest = args.mails.iter().copied().max().unwrap_or(0);
    for (backend, postgres) in backends {
        let case = |channel, mails, recipients, limits, analyze| Case { channel, mails, recipients, limits, analyze };
        let mut cases = Vec::new();
        for &mails in &args.mails {
            cases.extend(channels.iter().map(|&c| case(c, mails, mails, none, false)));
        }
        if *backend == Backend::Postgres && largest > 0 {
            cases.extend(channels.iter().map(|&c| case(c, largest, largest, none, true)));
        }
        cases.extend(channels.iter().map(|&c| case(c, single, 1, none, false)));
        if let Some(smtp) = &smtp {
            cases.push(case(Channel::Smtp(smtp.port), 25, 25, paced, false));
        }
        for case in cases {
            let (sent, elapsed) = deliver(*postgres, case).await?;
            let channel = match (case.channel, case.analyze) {
                (Channel::Smtp(_), false) => "SMTP (aiosmtpd)",
                (Channel::Smtp(_), true) => "SMTP (aiosmtpd), outbox ANALYZEd",
                (Channel::Memory, false) => "in-memory mailbox",
                (Channel::Memory, true) => "in-memory mailbox, outbox ANALYZEd",
            };
            let limits = if case.limits == none { "none" } else { "5/s overall" };
            println!(
                "| {backend} | {channel} | {} | {} | {limits} | {sent}/{} | {:.2} s | {:.0} |",
                case.mails,
                case.recipients,
                case.mails,
                elapsed.as_secs_f64(),
                sent as f64 / elapsed.as_secs_f64()
            );
        }
    }
    println!();
    println!(
        "Limits none: as fast as the dispatcher goes (up to 64 messages per claim, at most one per recipient, sent \
         concurrently); one recipient is served one mail at a time (claim, SMTP session, record). `essaim serve` \
         paces mail at `mail.per_second` (default 5) overall, with no per-recipient interval: that limit, not the \
         dispatcher, sets the production rate (the 25-mail row: a bucket of 5, then 5/s). \
         \"ANALYZEd\": the same burst once PostgreSQL has statistics on the outbox table."
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// 2. Link click → answer recorded.

fn sector() -> Result<Sector, Error> {
    Ok(Sector::parse("sector", "nettoyage")?)
}

fn settings() -> Result<EngineSettings, Error> {
    Ok(EngineSettings {
        default_lang: Lang::Fr,
        time_zone: chrono_tz::Europe::Paris,
        response_time: chrono::Duration::hours(48),
        campaign_duration: chrono::Duration::hours(168),
        reminder_schedule: "0 9 * * 1-5".into(),
        tick: Duration::from_secs(30),
        weights: essaim_solver::Weights::default(),
        solve: essaim_solver::SolveSettings::default(),
        taxonomy: SectorTaxonomy::new([SectorInfo {
            slug: sector()?,
            label_fr: "Nettoyage".into(),
            label_en: "Cleaning".into(),
            unit: "h".into(),
        }]),
        proposal: ProposalDelivery::default(),
        email: true,
    })
}

/// A valid SIRET (Luhn key) for structure `i`.
fn siret(i: usize) -> Result<Siret, Error> {
    let base = format!("{:013}", 4_000_000_000_000u64 + i as u64 * 17);
    let sum: u32 = base
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, b)| {
            let digit = u32::from(b - b'0');
            // The check digit will be at position 0 from the right: these start at position 1.
            if position % 2 == 0 {
                let doubled = digit * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                digit
            }
        })
        .sum();
    let check = (10 - sum % 10) % 10;
    Ok(Siret::parse(&format!("{base}{check}"))?)
}

/// `n` structures on a grid about 22 km apart (travel radius 5 km), each with a line of 50 h 0.6 km
/// away: each line has exactly one structure within reach, so the campaign makes `n` offers. None has
/// a chat account; each has a contact address in the directory.
async fn territory(store: &Store, n: usize) -> Result<(), Error> {
    let mut suppliers = Vec::with_capacity(n);
    let mut lines = Vec::with_capacity(n);
    for i in 0..n {
        let (row, column) = (i / 10, i % 10);
        let (lat, lon) = (43.0 + 0.2 * row as f64, 1.0 + 0.3 * column as f64);
        let capacities: Capacities = [(sector()?, 60.0)].into_iter().collect();
        let name = format!("Structure {i:03}");
        let mut s =
            Supplier::new(siret(i)?, &name, SupplierKind::Ei, GeoPoint::new(lat, lon)?, 5.0, 10.0, capacities, None)?;
        s.contact = Contact {
            name: Some(format!("Direction {name}")),
            email: Some(format!("direction-{i}@structures.example")),
            phone: None,
        };
        suppliers.push(s);
        let mut line = TenderLine::new(
            &format!("lines[{i}]"),
            &format!("L{}", i + 1),
            sector()?,
            50.0,
            "h",
            GeoPoint::new(lat + 0.005, lon)?,
            None,
            None,
        )?;
        line.title = Some(format!("Nettoyage près de {name}"));
        lines.push(line);
    }
    let code = GroupementCode::parse("g", "G-BENCH")?;
    let members: Vec<Siret> = suppliers.iter().map(|s| s.siret.clone()).collect();
    let groupement = Groupement::new(code.clone(), "Groupement du bench", siret(0)?, members)?;
    store.import_directory(&suppliers, &[groupement]).await?;
    let tender = Tender::new(
        TenderRef::parse("ref", TENDER)?,
        "Marché du bench",
        Buyer::named("Ville test", None),
        None,
        Some(code),
        lines,
    )?;
    store.insert_tender(&tender).await?;
    Ok(())
}

struct Clicks {
    offers: usize,
    launch: Duration,
    /// In click order.
    opened: Vec<Duration>,
    recorded: Vec<Duration>,
}

async fn clicks(postgres: Option<&str>, offers: usize) -> Result<Clicks, Error> {
    let database = Database::fresh(postgres).await?;
    let outcome = clicks_on(&database.store, offers).await;
    database.remove().await?;
    outcome
}

async fn clicks_on(store: &Store, offers: usize) -> Result<Clicks, Error> {
    let store = store.clone();
    territory(&store, offers).await?;
    let engine = Engine::new(store.clone(), settings()?, Arc::new(Notify::new()));

    // The answer pages on a loopback port, as `essaim serve` mounts them.
    let router = essaim_mail::answer_router(engine.clone(), LinkKey::new(KEY)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let mailbox = MemoryMailbox::new(FROM.parse()?, links(&base)?, chrono::Utc::now);
    let dispatcher = Dispatcher::new(store.clone()).with_sender(Platform::Email, mailbox.clone(), Limits::none());

    // The facilitator (a Telegram account: its notes stay in the outbox) launches the campaign.
    store.create_invite("FAC-BENCH", essaim_core::Role::Facilitator, None, None).await?;
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
    engine.handle(&fac(1, "start", "FAC-BENCH")).await?;
    let started = Instant::now();
    engine.handle(&fac(2, "repartir", TENDER)).await?;
    let launch = started.elapsed();
    while dispatcher.run_once().await? > 0 {}
    let accept_links: Vec<String> = mailbox
        .take()
        .into_iter()
        .filter_map(|mail| mail.links.into_iter().find(|(label, _)| label == "Accepter").map(|(_, url)| url))
        .collect();
    if accept_links.len() != offers {
        return Err(format!("{} offer mails with an « Accepter » link, {offers} expected", accept_links.len()).into());
    }

    let client = reqwest::Client::new();
    let mut opened = Vec::with_capacity(offers);
    let mut recorded = Vec::with_capacity(offers);
    for url in &accept_links {
        let started = Instant::now();
        let response = client.get(url).header("Accept-Language", "fr-FR,fr;q=0.9").send().await?;
        let status = response.status();
        let page = response.text().await?;
        opened.push(started.elapsed());
        if status != reqwest::StatusCode::OK || !page.contains("id=\"confirm\"") {
            return Err(format!("GET {url}: {status}, no confirmation form:\n{page}").into());
        }

        // The confirmation button has no name: a browser posts an empty form.
        let started = Instant::now();
        let response = client.post(url).form(&[] as &[(&str, &str)]).send().await?;
        let status = response.status();
        let page = response.text().await?;
        recorded.push(started.elapsed());
        if status != reqwest::StatusCode::OK || !page.contains("Vous avez accepté 50 h") {
            return Err(format!("POST {url}: {status}, not recorded:\n{page}").into());
        }
    }

    // What the store says: every offer accepted in full, by the structure.
    let (_, campaign) = store.campaign(&TenderRef::parse("ref", TENDER)?).await?;
    let campaign = campaign.ok_or("no campaign")?;
    let accepted = campaign
        .offers
        .values()
        .filter(|o| matches!(o.state, OfferState::Accepted { quantity, .. } if quantity == 50.0))
        .count();
    if campaign.offers.len() != offers || accepted != offers {
        return Err(format!("{accepted} of {} offers accepted, {offers} expected", campaign.offers.len()).into());
    }
    server.abort();
    Ok(Clicks { offers, launch, opened, recorded })
}

async fn clicks_table(args: &Args, backends: &[(Backend, Option<&str>)]) -> Result<(), Error> {
    println!();
    println!("### 2. Link click → answer recorded (HTTP on loopback, one click at a time)");
    println!();
    println!("| backend | offers | launch (/repartir) | request | p50 | p99 | max | p50 first 20 | p50 last 20 |");
    println!("|---|---:|---:|---|---:|---:|---:|---:|---:|");
    for (backend, postgres) in backends {
        let c = clicks(*postgres, args.offers).await?;
        for (request, samples) in
            [("GET link (opens, records nothing)", &c.opened), ("POST form → recorded", &c.recorded)]
        {
            let sorted = |part: &[Duration]| {
                let mut part = part.to_vec();
                part.sort();
                part
            };
            let edge = samples.len().min(20);
            let first = percentile(&sorted(&samples[..edge]), 50.0);
            let last = percentile(&sorted(&samples[samples.len() - edge..]), 50.0);
            let all = sorted(samples);
            println!(
                "| {backend} | {} | {} | {request} | {} | {} | {} | {} | {} |",
                c.offers,
                ms(c.launch),
                ms(percentile(&all, 50.0)),
                ms(percentile(&all, 99.0)),
                ms(all.last().copied().unwrap_or_default()),
                ms(first),
                ms(last)
            );
        }
    }
    println!();
    println!(
        "Checked afterwards in the store: every offer accepted (50 h). The POST covers the link check, the engine \
         (event, projection, receipt and note queued in the same transaction) and the page; the last one also \
         closes the campaign (ready) and builds the proposal."
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let mut backends: Vec<(Backend, Option<&str>)> = vec![(Backend::Sqlite, None)];
    match args.postgres.as_deref() {
        Some(url) => backends.push((Backend::Postgres, Some(url))),
        None => println!(
            "PostgreSQL skipped (set ESSAIM_BENCH_POSTGRES_URL or ESSAIM_TEST_POSTGRES_URL, or pass --postgres URL)"
        ),
    }
    println!(
        "essaim mail bench · {} · {} CPU(s)",
        backends.iter().map(|(b, _)| b.to_string()).collect::<Vec<_>>().join(" + "),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    delivery_table(&args, &backends).await?;
    clicks_table(&args, &backends).await?;
    Ok(())
}
