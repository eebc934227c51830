//! Command-line parsing and the commands themselves.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::{Args, Parser, Subcommand};
use essaim_store::{Store, StoreError};

use crate::config::Config;
use crate::import;

#[derive(Debug, Parser)]
#[command(
    name = "essaim",
    version,
    about = "Split tenders with social clauses into micro-lots for groupements of inclusive structures \
             (SIAE, GEIQ, ESAT, EA, EATT, TIH)"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// More logs on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log lines as text (default) or one JSON object a line, for a log collector (config `log.format`).
    #[arg(long, value_enum, env = "ESSAIM_LOG_FORMAT", global = true)]
    pub log_format: Option<crate::config::LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: essaim.db in the data dir).
    #[arg(long, env = "ESSAIM_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the default SQLite database and generated files.
    #[arg(long, env = "ESSAIM_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file overriding config/default.toml (environment ESSAIM_SECTION__KEY overrides both).
    #[arg(long, env = "ESSAIM_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole job offline on the shipped sample territory (fresh SQLite database, no network).
    Demo {
        /// Plain output without colours.
        #[arg(long)]
        no_color: bool,
    },
    /// Solve one allocation instance from a JSON file (no database needed).
    Allocate {
        /// The instance (docs/allocation.md): lines, suppliers, optional weights, fixed and excluded.
        #[arg(long)]
        input: PathBuf,
        /// Where to write the result (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Wall-clock budget in seconds (default: `solver.time_limit_s`, 30).
        #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
        time_limit: Option<f64>,
        /// Branch-and-bound nodes per component: the same result on every run and machine
        /// (`stats.stopped_by` says whether this or the time limit ended the search).
        #[arg(long, value_name = "NODES")]
        work_limit: Option<u64>,
        /// MILP backend: microlp (built in) or highs (built with `--features highs`).
        #[arg(long, value_name = "NAME", value_parser = backend)]
        backend: Option<essaim_solver::Backend>,
    },
    /// Create or upgrade the database schema.
    Migrate,
    /// Write the whole installation (every table) to FILE, to move it to another database with
    /// `essaim import --all FILE` (e.g. from SQLite to PostgreSQL). Stop `essaim serve` first.
    Export { file: PathBuf },
    /// Import the directory of inclusive structures or a tender.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Print a one-time invite code that links a chat account (`/start CODE`) to a supplier, to a
    /// buyer (who receives the proposals of its tenders) or grants the facilitator role.
    Invite {
        /// The supplier (SIRET) the account will answer for.
        #[arg(long, required_unless_present_any = ["facilitator", "buyer", "groupement"], conflicts_with_all = ["facilitator", "buyer", "groupement"])]
        supplier: Option<String>,
        /// Every structure of this groupement that has no linked account (with --by-email).
        #[arg(long, requires = "by_email", conflicts_with_all = ["facilitator", "buyer"])]
        groupement: Option<String>,
        /// Send each one its code by e-mail (queued; `essaim serve` delivers), with how to link a chat
        /// account or stay by e-mail.
        #[arg(long, requires = "groupement")]
        by_email: bool,
        /// The buyer (SIRET, as its tenders name it) the account will speak for.
        #[arg(long, conflicts_with = "facilitator")]
        buyer: Option<String>,
        /// Grant the facilitator role (launch campaigns, see their status).
        #[arg(long)]
        facilitator: bool,
        /// The facilitator's territory: groupement codes and départements (`G-LYON,dep:69`), or `*` for
        /// every tender (a national administrator, the default).
        #[arg(long, requires = "facilitator")]
        scope: Option<String>,
        /// How long the code stays valid, in hours.
        #[arg(long, default_value_t = 168.0)]
        valid_hours: f64,
    },
    /// Run the HTTP API, the chat bots (tokens in ESSAIM_TELEGRAM_TOKEN / ESSAIM_DISCORD_TOKEN), the
    /// outbox dispatcher and the scheduler.
    Serve,
    /// Write the consolidated proposal of a tender's campaign (the grouped bid for the buyer).
    Proposal {
        /// The tender reference.
        reference: String,
        /// The form of the proposal.
        #[arg(long, value_enum, default_value = "html")]
        format: essaim_api::ProposalFormat,
        /// Its language (default: campaign.language).
        #[arg(long, value_enum)]
        lang: Option<Language>,
        /// Where to write it (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Bearer tokens of the HTTP API.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Unlink a chat account and erase its person's data (RGPD art. 17), for a request received by mail
    /// or phone: the same erasure as `/oublier` — the commitments stay the structure's, under a pseudonym.
    Forget {
        /// Where the account is.
        #[arg(long, value_enum)]
        platform: ChatPlatform,
        /// The account's user id on that platform.
        #[arg(long)]
        user_id: String,
    },
    /// Steer a tender's campaign from the desk, through the same engine as the chat commands (same events,
    /// same messages to the structures, delivered by `essaim serve`).
    Campaign {
        action: CampaignAction,
        /// The tender reference.
        reference: String,
        /// Who acts, as the campaign log records it (default: $USER).
        #[arg(long = "as")]
        operator: Option<String>,
        /// The language of the replies (default: campaign.language).
        #[arg(long, value_enum)]
        lang: Option<Language>,
    },
}

/// `--lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Language {
    /// Français.
    Fr,
    /// English.
    En,
}

impl From<Language> for essaim_core::Lang {
    fn from(language: Language) -> Self {
        match language {
            Language::Fr => essaim_core::Lang::Fr,
            Language::En => essaim_core::Lang::En,
        }
    }
}

/// `essaim forget --platform`: the chat platforms an account can be linked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChatPlatform {
    Telegram,
    Discord,
}

impl ChatPlatform {
    fn as_str(self) -> &'static str {
        match self {
            Self::Telegram => "telegram",
            Self::Discord => "discord",
        }
    }
}

/// `--backend`: a backend this build has. clap reports the error (exit 2), in the words of the
/// configuration's `solver.backend`.
fn backend(name: &str) -> Result<essaim_solver::Backend, String> {
    essaim_solver::Backend::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = essaim_solver::Backend::AVAILABLE.iter().map(|b| b.name()).collect();
        format!("--backend: {name:?} is not built in (this build has: {})", names.join(", "))
    })
}

/// What a facilitator does to a campaign from the desk.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CampaignAction {
    /// Allocate the tender and send the offers (`/repartir`); on a ready campaign, a new round.
    Launch,
    /// Where each line stands (`/etat`).
    Status,
    /// Remind the structures that have not answered (`/relancer`).
    Remind,
    /// Send the groupement's proposal to the buyer (`/envoyer`).
    Send,
    /// Close the campaign now (`/clore`).
    Close,
    /// The structures and how they are reached (`/membres`).
    Members,
}

impl CampaignAction {
    fn command(self) -> essaim_chat::Command {
        use essaim_api::CampaignAction as A;
        crate::serve::command_of(match self {
            Self::Launch => A::Launch,
            Self::Status => A::Status,
            Self::Remind => A::Remind,
            Self::Send => A::Send,
            Self::Close => A::Close,
            Self::Members => A::Members,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once (only its SHA-256 is kept).
    Create {
        /// A buyer's token (SIRET, as its tenders name it): sees that buyer's tenders only.
        #[arg(long, required_unless_present = "facilitator", conflicts_with = "facilitator")]
        buyer: Option<String>,
        /// A facilitator's token: sees, registers and steers the tenders of its territory.
        #[arg(long)]
        facilitator: bool,
        /// The facilitator's territory: groupement codes and départements (`G-LYON,dep:69`), or `*` for
        /// every tender (the default).
        #[arg(long, requires = "facilitator")]
        scope: Option<String>,
        /// A note saying whose token it is.
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a token by its id (tok_…).
    Revoke { id: String },
    /// Print the SHA-256 of a token, for `[[api.tokens]]` in the configuration.
    Hash { token: String },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Suppliers from a CSV file (comma or semicolon separated, UTF-8 with or without BOM).
    Suppliers {
        file: PathBuf,
        /// Import the valid rows even if some are rejected (they are still listed).
        #[arg(long)]
        skip_invalid: bool,
    },
    /// Structures from a Le Marché de l'inclusion export (CSV, or JSON as its API gives them); docs/import.md.
    Marche(crate::import_sources::SourceOptions),
    /// Structures from a data·inclusion « structures » file (schema v1, CSV or JSON); docs/import.md.
    #[command(name = "data-inclusion")]
    DataInclusion(crate::import_sources::SourceOptions),
    /// The ESAT (category 246) of a FINESS establishments extraction (etalab CSV); docs/import.md.
    Finess(crate::import_sources::SourceOptions),
    /// A whole installation written by `essaim export`, into an empty database, in one transaction
    /// (`essaim import --all FILE`).
    #[command(long_flag = "all")]
    All {
        file: PathBuf,
        /// Add to a database that already holds rows (any collision aborts the whole import).
        #[arg(long)]
        allow_non_empty: bool,
    },
    /// A tender from a JSON file.
    Tender {
        file: PathBuf,
        /// Replace a tender with the same reference instead of refusing it.
        #[arg(long)]
        replace: bool,
    },
}

pub fn init_tracing(verbose: u8, format: crate::config::LogFormat) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Text => logs.try_init(),
        // `message`, `level`, `target` and the event's fields at the top level of each line.
        crate::config::LogFormat::Json => logs.json().flatten_event(true).try_init(),
    };
}

pub fn run(cli: Cli) -> Result<()> {
    let config = Config::load(cli.global.config.as_deref())?;
    match cli.command {
        Command::Allocate { input, output, time_limit, work_limit, backend } => {
            let settings = allocate_settings(&config, time_limit, work_limit, backend)?;
            allocate_file(&input, output.as_deref(), &config, &settings)
        }
        command => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(run_async(command, cli.global, config))
        }
    }
}

async fn run_async(command: Command, global: Global, config: Config) -> Result<()> {
    match command {
        Command::Allocate { .. } => unreachable!("handled without a runtime"),
        Command::Demo { no_color } => crate::demo::run(&global, &config, no_color).await,
        Command::Migrate => {
            let store = open_store(&global, &config).await?;
            tracing::info!(backend = %store.backend(), "database schema up to date");
            println!("Database ready ({}).", store.backend());
            Ok(())
        }
        Command::Import(ImportCommand::Suppliers { file, skip_invalid }) => {
            let store = open_store(&global, &config).await?;
            import_suppliers(&store, &file, skip_invalid, &config).await
        }
        Command::Import(ImportCommand::Marche(options)) => {
            let open = async || open_store(&global, &config).await;
            crate::import_sources::run(crate::import_sources::Source::Marche, &options, &config, open).await
        }
        Command::Import(ImportCommand::DataInclusion(options)) => {
            let open = async || open_store(&global, &config).await;
            crate::import_sources::run(crate::import_sources::Source::DataInclusion, &options, &config, open).await
        }
        Command::Import(ImportCommand::Finess(options)) => {
            let open = async || open_store(&global, &config).await;
            crate::import_sources::run(crate::import_sources::Source::Finess, &options, &config, open).await
        }
        Command::Export { file } => {
            let store = open_store(&global, &config).await?;
            export_all(&store, &file).await
        }
        Command::Import(ImportCommand::All { file, allow_non_empty }) => {
            let store = open_store(&global, &config).await?;
            import_all(&store, &file, allow_non_empty).await
        }
        Command::Import(ImportCommand::Tender { file, replace }) => {
            let store = open_store(&global, &config).await?;
            import_tender(&store, &file, replace, &config).await
        }
        Command::Invite { groupement: Some(code), valid_hours, .. } => {
            let store = open_store(&global, &config).await?;
            invite_groupement(store, &config, &code, valid_hours).await
        }
        Command::Invite { buyer: Some(buyer), valid_hours, .. } => {
            let store = open_store(&global, &config).await?;
            buyer_invite(&store, &buyer, valid_hours).await
        }
        Command::Proposal { reference, format, lang, output } => {
            let store = open_store(&global, &config).await?;
            proposal(&store, &config, &reference, format, lang, output.as_deref()).await
        }
        Command::Token(TokenCommand::Hash { token }) => {
            println!("{}", essaim_api::hash_token(&token));
            Ok(())
        }
        Command::Token(TokenCommand::Create { buyer, facilitator: _, scope, label }) => {
            let store = open_store(&global, &config).await?;
            create_token(&store, buyer.as_deref(), scope.as_deref(), label.as_deref()).await
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let store = open_store(&global, &config).await?;
            if store.revoke_api_token(&id).await? {
                eprintln!("token {id} revoked");
                Ok(())
            } else {
                Err(bad_input!("no live token {id}"))
            }
        }
        Command::Invite { supplier, facilitator: _, buyer: None, groupement: None, scope, valid_hours, .. } => {
            let store = open_store(&global, &config).await?;
            invite(&store, supplier.as_deref(), scope.as_deref(), valid_hours).await
        }
        Command::Forget { platform, user_id } => {
            let store = open_store(&global, &config).await?;
            forget(&store, platform, &user_id).await
        }
        Command::Serve => crate::serve::run(&global, &config).await,
        Command::Campaign { action, reference, operator, lang } => {
            let store = open_store(&global, &config).await?;
            steer(store, &config, action, &reference, operator, lang).await
        }
    }
}

/// `essaim campaign ACTION REF`: the engine's reply on standard output; what it queued for the structures
/// and the buyer waits in the outbox for `essaim serve`'s dispatcher.
async fn steer(
    store: essaim_store::Store,
    config: &Config,
    action: CampaignAction,
    reference: &str,
    operator: Option<String>,
    lang: Option<Language>,
) -> Result<()> {
    let tender = essaim_core::TenderRef::parse("REF", reference).map_err(|e| bad_input!("{e}"))?;
    if store.tender(&tender).await?.is_none() {
        return Err(bad_input!("no tender {reference} (essaim import tender FILE.json)"));
    }
    let lang = lang.map_or(config.campaign.language, essaim_core::Lang::from);
    let operator = operator.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "desk".to_owned());
    let before = store.outbox().await?.len();
    let engine = essaim_chat::Engine::new(
        store.clone(),
        config.engine_settings()?,
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );
    for text in engine.steer(&operator, action.command(), reference, lang).await? {
        println!("{text}");
    }
    let queued = store.outbox().await?.len().saturating_sub(before);
    if queued > 0 {
        eprintln!("{queued} message(s) queued for the structures and the buyer: `essaim serve` delivers them.");
    }
    Ok(())
}

/// `essaim forget`: one erasure, as `/oublier` does it (the facilitators are not told: the operator is
/// one of them).
async fn forget(store: &essaim_store::Store, platform: ChatPlatform, user_id: &str) -> Result<()> {
    let platform = platform.as_str();
    let forget = essaim_store::Forget {
        platform: platform.to_owned(),
        user_id: user_id.to_owned(),
        pseudonym: essaim_chat::campaigns::pseudonym(),
    };
    let changes = essaim_store::Changeset { forget: Some(forget.clone()), ..essaim_store::Changeset::default() };
    match store.apply(&changes).await? {
        essaim_store::Applied::Done => {
            println!("{platform} account {user_id} unlinked; it is {} in the campaign history.", forget.pseudonym);
            Ok(())
        }
        _ => Err(bad_input!("no linked {platform} account {user_id}")),
    }
}

/// The database URL: `--database-url`, then the config file, then `essaim.db` in the data dir.
pub fn database_url(global: &Global, config: &Config) -> Result<String> {
    if let Some(url) = global.database_url.clone().or_else(|| config.database.url.clone()) {
        return Ok(url);
    }
    let dir = match &global.data_dir {
        Some(dir) => dir.clone(),
        None => default_data_dir()?,
    };
    Ok(format!("sqlite://{}", dir.join("essaim.db").display()))
}

fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("essaim"));
    }
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow!("no data dir: set --data-dir or ESSAIM_DATA_DIR"))?;
    Ok(PathBuf::from(home).join(".local/share/essaim"))
}

pub async fn open_store(global: &Global, config: &Config) -> Result<Store> {
    let url = database_url(global, config)?;
    let store = Store::connect(&url).await.map_err(|e| match e {
        StoreError::UnsupportedUrl { .. } => bad_input!("{e}"),
        other => anyhow::Error::new(other),
    })?;
    store.migrate().await.context("could not bring the database schema up to date")?;
    Ok(store)
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| bad_input!("{}: cannot read: {e}", path.display()))
}

/// The configuration's solver settings with `essaim allocate`'s flags on top.
fn allocate_settings(
    config: &Config,
    time_limit: Option<f64>,
    work_limit: Option<u64>,
    backend: Option<essaim_solver::Backend>,
) -> Result<essaim_solver::SolveSettings> {
    let mut settings = config.solve_settings();
    if let Some(seconds) = time_limit {
        settings.time_limit = std::time::Duration::try_from_secs_f64(seconds)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| bad_input!("--time-limit: {seconds} is not a positive number of seconds"))?;
    }
    if let Some(nodes) = work_limit {
        settings.work_limit = Some(nodes);
    }
    if let Some(backend) = backend {
        settings.backend = backend;
    }
    Ok(settings)
}

/// On a terminal, a spinner saying `message` (an import's file, an allocation's objective and gap);
/// nothing when standard error is not a terminal.
fn spinner(message: String) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner().with_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    Some(bar)
}

/// `essaim allocate`: solve a JSON instance; on bad input, write `{"status": "invalid", "error"}` and exit 2.
fn allocate_file(
    input: &Path,
    output: Option<&Path>,
    config: &Config,
    settings: &essaim_solver::SolveSettings,
) -> Result<()> {
    let bytes = read_file(input)?;
    let text = String::from_utf8(bytes).map_err(|_| bad_input!("{}: not UTF-8 text", input.display()))?;
    let outcome = essaim_solver::AllocationInput::from_json(&text).and_then(|mut instance| {
        if instance.weights.is_none() {
            // The file's own weights win; without them the configuration's, except fairness: a file carries
            // its own `recent_volume`, and the format's default φ is 0 (the campaign setting is for campaigns).
            instance.weights = Some(essaim_solver::Weights { per_unit_fairness: 0.0, ..config.weights() });
        }
        instance.fill_default_rates(&config.impact_settings().insertion_rate);
        let bar = spinner("allocating…".to_owned());
        let observer = |p: &essaim_solver::Progress| {
            if let Some(bar) = &bar {
                bar.set_message(format!(
                    "objective {:.1} · gap {:.2} % · components {}/{}",
                    p.objective,
                    p.gap() * 100.0,
                    p.components_done,
                    p.components
                ));
            }
        };
        let result = essaim_solver::allocate_observed(&instance, settings, &observer);
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        result
    });
    let (json, error) = match outcome {
        Ok(result) => (serde_json::to_value(&result)?, None),
        Err(e) => {
            let message = format!("{}: {e}", input.display());
            (serde_json::json!({"status": "invalid", "error": message}), Some(message))
        }
    };
    let mut text = serde_json::to_string_pretty(&json)?;
    text.push('\n');
    match output {
        Some(path) => std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(text.as_bytes())?,
    }
    match error {
        Some(message) => Err(bad_input!("{message}")),
        None => Ok(()),
    }
}

async fn import_suppliers(store: &Store, path: &Path, skip_invalid: bool, config: &Config) -> Result<()> {
    let bytes = read_file(path)?;
    let name = path.display().to_string();
    let taxonomy = config.taxonomy()?;
    let progress = spinner(format!("reading {name}"));
    let file = import::read_directory(&name, &bytes, &taxonomy);
    if let Some(bar) = &progress {
        bar.set_message(format!("saving {} suppliers", file.suppliers.len()));
    }
    for error in file.errors.iter().take(100) {
        eprintln!("{error}");
    }
    if file.errors.len() > 100 {
        eprintln!("… and {} more problems", file.errors.len() - 100);
    }
    if !file.errors.is_empty() && !skip_invalid {
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        return Err(bad_input!(
            "{name}: {} problem(s) found, nothing imported (fix them, or pass --skip-invalid to import the {} valid rows)",
            file.errors.len(),
            file.suppliers.len()
        ));
    }
    let summary = store.import_directory(&file.suppliers, &file.groupements).await?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    println!(
        "{name}: {} supplier(s) imported ({} new, {} updated), {} groupement(s){}",
        file.suppliers.len(),
        summary.inserted,
        summary.updated,
        file.groupements.len(),
        if file.errors.is_empty() { String::new() } else { format!(", {} row(s) skipped", file.errors.len()) }
    );
    Ok(())
}

async fn import_tender(store: &Store, path: &Path, replace: bool, config: &Config) -> Result<()> {
    let bytes = read_file(path)?;
    let name = path.display().to_string();
    let text = String::from_utf8(bytes).map_err(|_| bad_input!("{name}: not UTF-8 text"))?;
    let tender = import::read_tender(&name, &text, &config.taxonomy()?).map_err(|m| bad_input!("{m}"))?;
    if let Some(code) = &tender.groupement
        && store.groupement(code).await?.is_none()
    {
        return Err(bad_input!(
            "{name}: groupement: unknown groupement {code} (import its members with `essaim import suppliers` first)"
        ));
    }
    let outcome = if replace {
        if !store.campaign_log(&tender.reference).await?.events.is_empty() {
            return Err(bad_input!(
                "{name}: ref: tender {} has a campaign: its lines cannot be replaced under the offers already sent",
                tender.reference
            ));
        }
        if store.replace_tender(&tender).await? { "replaced" } else { "imported" }
    } else {
        store.insert_tender(&tender).await.map_err(|e| match e {
            StoreError::TenderExists { .. } => {
                bad_input!("{name}: ref: {e} (use --replace to overwrite it)")
            }
            other => anyhow::Error::new(other),
        })?;
        "imported"
    };
    println!("{name}: tender {} {outcome} ({} line(s))", tender.reference, tender.lines.len());
    Ok(())
}

/// `essaim invite`: a one-time code for `/start CODE`.
/// `essaim invite --groupement G --by-email`: the invitations and their mails in one write.
async fn invite_groupement(store: Store, config: &Config, code: &str, valid_hours: f64) -> Result<()> {
    if !valid_hours.is_finite() || valid_hours <= 0.0 {
        return Err(bad_input!("--valid-hours: {valid_hours} must be a positive number"));
    }
    let settings = config.engine_settings()?;
    if !settings.email {
        return Err(bad_input!(
            "--by-email: the e-mail channel is not configured ([mail] smtp_host, see docs/email.md)"
        ));
    }
    let code = essaim_core::GroupementCode::parse("--groupement", code).map_err(|e| bad_input!("{e}"))?;
    let expires_at = chrono::Utc::now() + chrono::Duration::milliseconds((valid_hours * 3_600_000.0) as i64);
    let Some((changes, done)) =
        essaim_chat::campaigns::invite_groupement_by_mail(&store, &settings, &code, expires_at).await?
    else {
        return Err(bad_input!("--groupement: no groupement {code} in the directory"));
    };
    store.apply(&changes).await?;
    let texts = essaim_chat::texts::Texts::new(settings.default_lang, settings.time_zone);
    println!("{}", texts.groupement_invited(code.as_str(), &done));
    if !done.invited.is_empty() {
        eprintln!("The mails are queued: `essaim serve` delivers them.");
    }
    Ok(())
}

/// The `--scope` of a facilitator's invite or token; national (`*`) when not given.
fn facilitator_scope(scope: Option<&str>) -> Result<essaim_core::Scope> {
    scope.map_or(Ok(essaim_core::Scope::National), |s| {
        essaim_core::Scope::parse("--scope", s).map_err(|e| bad_input!("{e}"))
    })
}

async fn invite(store: &Store, supplier: Option<&str>, scope: Option<&str>, valid_hours: f64) -> Result<()> {
    if !valid_hours.is_finite() || valid_hours <= 0.0 {
        return Err(bad_input!("--valid-hours: {valid_hours} must be a positive number"));
    }
    let supplier = match supplier {
        None => None,
        Some(s) => {
            let siret = essaim_core::Siret::parse(s).map_err(|e| bad_input!("--supplier: {e}"))?;
            let known = store.supplier(&siret).await?.ok_or_else(|| {
                bad_input!("--supplier: no supplier with SIRET {siret} in the directory (import it first)")
            })?;
            Some((siret, known.name))
        }
    };
    let code = invite_code();
    let expires_at = chrono::Utc::now() + chrono::Duration::milliseconds((valid_hours * 3_600_000.0) as i64);
    match &supplier {
        Some((siret, name)) => {
            store.create_invite(&code, essaim_core::Role::Supplier, Some(siret), Some(expires_at)).await?;
            eprintln!("Invite for {name} ({siret}), valid until {}:", expires_at.format("%Y-%m-%d %H:%M UTC"))
        }
        None => {
            let scope = facilitator_scope(scope)?;
            store.create_facilitator_invite(&code, &scope, Some(expires_at)).await?;
            eprintln!("Facilitator invite (scope {scope}), valid until {}:", expires_at.format("%Y-%m-%d %H:%M UTC"))
        }
    }
    println!("/start {code}");
    Ok(())
}

async fn buyer_invite(store: &Store, buyer: &str, valid_hours: f64) -> Result<()> {
    if !valid_hours.is_finite() || valid_hours <= 0.0 {
        return Err(bad_input!("--valid-hours: {valid_hours} must be a positive number"));
    }
    let siret = essaim_core::Siret::parse(buyer).map_err(|e| bad_input!("--buyer: {e}"))?;
    let code = invite_code();
    let expires_at = chrono::Utc::now() + chrono::Duration::milliseconds((valid_hours * 3_600_000.0) as i64);
    store.create_buyer_invite(&code, &siret, Some(expires_at)).await?;
    eprintln!("Buyer invite for SIRET {siret}, valid until {}:", expires_at.format("%Y-%m-%d %H:%M UTC"));
    println!("/start {code}");
    Ok(())
}

async fn create_token(store: &Store, buyer: Option<&str>, scope: Option<&str>, label: Option<&str>) -> Result<()> {
    let buyer = buyer.map(|b| essaim_core::Siret::parse(b).map_err(|e| bad_input!("--buyer: {e}"))).transpose()?;
    let (id, token) = essaim_api::new_token();
    let hash = essaim_api::hash_token(&token);
    let role = match &buyer {
        Some(siret) => {
            store.create_api_token(&id, &hash, "buyer", Some(siret), label).await?;
            "buyer".to_owned()
        }
        None => {
            let scope = facilitator_scope(scope)?;
            store.create_facilitator_token(&id, &hash, &scope, label).await?;
            format!("facilitator (scope {scope})")
        }
    };
    eprintln!("{role} token {id} created; it is shown once, keep it safe (essaim token revoke {id} to revoke it):");
    println!("{token}");
    Ok(())
}

/// Builds a tender's proposal from the store; bad input when the tender or its campaign is missing.
pub async fn build_proposal(
    store: &Store,
    config: &Config,
    reference: &str,
    lang: essaim_core::Lang,
    generated_at: chrono::DateTime<chrono::Utc>,
) -> Result<essaim_core::Proposal> {
    let reference = essaim_core::TenderRef::parse("REF", reference).map_err(|e| bad_input!("{e}"))?;
    let sources = store
        .proposal_sources(&reference)
        .await?
        .ok_or_else(|| bad_input!("no tender {reference} (essaim import tender FILE.json)"))?;
    let Some(built) = sources.proposal(
        &config.impact_settings(),
        &config.bid_settings()?,
        config.proposal.groupement_kind,
        lang,
        generated_at,
    ) else {
        return Err(bad_input!(
            "tender {reference} has no campaign yet: a facilitator launches one with /repartir {reference}"
        ));
    };
    Ok(built?)
}

async fn proposal(
    store: &Store,
    config: &Config,
    reference: &str,
    format: essaim_api::ProposalFormat,
    lang: Option<Language>,
    output: Option<&Path>,
) -> Result<()> {
    let lang = lang.map_or(config.campaign.language, essaim_core::Lang::from);
    let proposal = build_proposal(store, config, reference, lang, chrono::Utc::now()).await?;
    let (_, body) = essaim_api::render_proposal(&proposal, format, &config.proposal_settings()?.ocds)?;
    match output {
        Some(path) => {
            std::fs::write(path, body).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{}: proposal of {} written", path.display(), proposal.tender.reference);
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&body)?;
            out.flush()?;
        }
    }
    Ok(())
}

fn invite_code() -> String {
    essaim_chat::campaigns::invite_code()
}

/// `essaim export FILE`: written beside FILE then renamed, so that FILE is never a cut-short export.
async fn export_all(store: &Store, file: &Path) -> Result<()> {
    let partial = file.with_extension("partial");
    let summary = {
        let out = std::fs::File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
        let mut out = std::io::BufWriter::new(out);
        let summary = store.export_all(&mut out).await?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        summary
    };
    std::fs::rename(&partial, file).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!(
        "{} rows of {} tables (schema version {}) written to {}; read it with `essaim import --all {}`.",
        summary.rows(),
        summary.tables.len(),
        summary.schema_version,
        file.display(),
        file.display()
    );
    Ok(())
}

/// `essaim import --all FILE`: all or nothing; a refusal is the user's to fix (exit code 2).
async fn import_all(store: &Store, file: &Path, allow_non_empty: bool) -> Result<()> {
    let input = std::fs::File::open(file).map_err(|e| bad_input!("cannot read {}: {e}", file.display()))?;
    let mut input = std::io::BufReader::new(input);
    let summary = store.import_all(&mut input, allow_non_empty).await.map_err(|e| match e {
        StoreError::Transfer { .. } => bad_input!("{}: {e}", file.display()),
        other => anyhow::Error::new(other),
    })?;
    println!("{} rows of {} tables imported into {}.", summary.rows(), summary.tables.len(), store.backend());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value outside a flag's closed set is refused by clap itself: exit code 2, the flag and the
    /// values it takes named.
    #[test]
    fn closed_flags_refuse_other_values_with_exit_code_2() {
        for (args, says) in [
            (&["essaim", "proposal", "T-1", "--format", "pdf"][..], "[possible values: html, json, ocds, xlsx, csv]"),
            (&["essaim", "proposal", "T-1", "--lang", "de"][..], "[possible values: fr, en]"),
            (&["essaim", "campaign", "status", "T-1", "--lang", "DE"][..], "[possible values: fr, en]"),
            (&["essaim", "forget", "--platform", "fax", "--user-id", "1"][..], "[possible values: telegram, discord]"),
            (
                &["essaim", "allocate", "--input", "in.json", "--backend", "cplex"][..],
                "--backend: \"cplex\" is not built in",
            ),
        ] {
            let error = Cli::try_parse_from(args).expect_err(&args.join(" "));
            assert_eq!(error.exit_code(), 2, "{}", args.join(" "));
            assert!(error.to_string().contains(says), "{}: {error}", args.join(" "));
        }
        let cli = Cli::try_parse_from(["essaim", "proposal", "T-1", "--format", "ocds", "--lang", "en"]).unwrap();
        let Command::Proposal { format, lang, .. } = cli.command else { panic!("a proposal command") };
        assert_eq!(
            (format, lang.map(essaim_core::Lang::from)),
            (essaim_api::ProposalFormat::Ocds, Some(essaim_core::Lang::En))
        );
        let Command::Allocate { backend, .. } =
            Cli::try_parse_from(["essaim", "allocate", "--input", "i.json", "--backend", "microlp"]).unwrap().command
        else {
            panic!("an allocate command")
        };
        assert_eq!(backend, Some(essaim_solver::Backend::Microlp));
    }
}
