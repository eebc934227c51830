use std::path::PathBuf;

use thiserror::Error;

/// Why the store could not do what was asked, in the words of the person running essaim.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "« {scheme} » is not a database essaim can use: give --database-url (or ESSAIM_DATABASE_URL) as \
         sqlite://PATH/TO/essaim.db, sqlite::memory: or postgres://USER@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl {
        /// The part of the URL before `:` (never the whole URL, which may hold a password).
        scheme: String,
    },

    #[error(
        "could not create the directory {path} for the SQLite database: {source}; check the path and its permissions"
    )]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "could not lock {path}, which makes one process at a time deliver the messages of a SQLite database: \
         {source}; check the permissions of the database's directory"
    )]
    LockFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "could not open the {backend} database: {source}; check --database-url (or ESSAIM_DATABASE_URL) \
         and, for PostgreSQL, that the server is running and accepts this user"
    )]
    Connect {
        backend: &'static str,
        #[source]
        source: sqlx::Error,
    },

    #[error(
        "could not bring the database schema up to date: {0}; run `essaim migrate` with a binary at least as recent as the database"
    )]
    Migration(#[from] sqlx::migrate::MigrateError),

    #[error("the database refused the operation: {0}")]
    Database(#[from] sqlx::Error),

    #[error("tender {reference} is already registered; re-import it explicitly as a replacement to overwrite it")]
    TenderExists { reference: String },

    #[error("no tender {reference} is registered; import it first (essaim import tender FILE.json)")]
    UnknownTender { reference: String },

    #[error("no supplier with SIRET {siret} is in the directory; import it first (essaim import suppliers FILE.csv)")]
    UnknownSupplier { siret: String },

    #[error("no groupement {code} is in the directory; import it first, or leave the tender's groupement empty")]
    UnknownGroupement { code: String },

    #[error("tender {reference} has no line {line}; check the allocation was computed for this tender")]
    UnknownLine { reference: String, line: String },

    #[error("export/import of the installation: {message}")]
    Transfer { message: String },

    #[error("the database holds an unreadable {what}; it was changed outside essaim — fix or re-import that record")]
    Corrupt { what: String },
}

impl StoreError {
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt { what: what.into() }
    }
}
