//! The one store interface of dealerbase, over SQLite (default, one file) and PostgreSQL.
//!
//! Architecture invariant: this is the only crate that contains SQL. Every query is written
//! once; the [`on_pool!`] macro runs it on whichever backend was picked from the URL, and the
//! few dialect differences (schema types, bulk loading, locks) live in `schema.rs` and
//! `bulk.rs`. Scope rules (own / store / group) are applied here, where data is read.

pub mod aftersales;
pub mod bulk;
pub mod campaigns;
mod catalogue;
mod customers;
mod events;
pub mod import;
pub mod import_tx;
mod jobs;
pub mod kpi;
pub mod lists;
pub mod loyalty;
pub mod management;
pub mod merge;
pub mod messaging;
pub mod mining;
pub mod mining_views;
pub mod model;
mod packed;
pub mod sales;
mod schema;
pub mod segments;
mod sql;
mod vehicles;
pub mod web;

pub use catalogue::NewVehicleModel;
pub use customers::{CustomerFilter, CustomerSort, SearchKey, name_grams, name_grams_value};
pub use events::{LeadFilter, NewContact, NewTask};
pub use model::*;
pub use sql::Scope;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{field} {value:?} already exists")]
    Conflict { field: &'static str, value: String },
    #[error("{field} refers to {value}, which does not exist")]
    MissingReference { field: &'static str, value: String },
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A write given up before it committed (nothing of it is kept).
    #[error("{0}")]
    Abandoned(&'static str),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The database handle. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub(crate) pool: Pool,
}

/// Runs the same body on either backend: `$p` is bound to the concrete pool.
macro_rules! on_pool {
    ($db:expr, $p:ident => $body:expr) => {
        match &$db.pool {
            $crate::Pool::Sqlite($p) => $body,
            $crate::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Db {
    /// Opens `sqlite://path` (created if missing) or `postgres://…`. Does not migrate.
    pub async fn connect(url: &str) -> Result<Db> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(opts)
                .await?;
            Ok(Db {
                pool: Pool::Sqlite(pool),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Ok(Db {
                pool: Pool::Postgres(pool),
            })
        } else {
            Err(StoreError::UnsupportedUrl(url.to_string()))
        }
    }

    /// Connects and applies pending migrations.
    pub async fn open(url: &str) -> Result<Db> {
        let db = Db::connect(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs one administrative statement (CREATE/DROP DATABASE in tests and set-up tools).
    pub async fn execute_admin(&self, sql: &str) -> Result<()> {
        on_pool!(self, p => sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(p).await.map(|_| ())?);
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`] and a foreign-key
/// violation to [`StoreError::MissingReference`] naming the field.
pub(crate) trait ResultExt<T> {
    fn on_unique(self, field: &'static str, value: &str) -> Result<T>;
}

impl<T> ResultExt<T> for std::result::Result<T, sqlx::Error> {
    fn on_unique(self, field: &'static str, value: &str) -> Result<T> {
        self.map_err(|e| match e.as_database_error() {
            Some(d) if d.is_unique_violation() => StoreError::Conflict {
                field,
                value: value.to_string(),
            },
            _ => StoreError::Database(e),
        })
    }
}
