//! The one integration-test binary of dealerbase (each extra binary costs link time).
//!
//! Store tests run on SQLite and on PostgreSQL: the [`both!`] macro turns one async test
//! function into a test per backend. PostgreSQL is found at `DEALERBASE_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`); each test gets a fresh database.

mod aftersales;
mod api;
mod browser;
mod browser_aftersales;
mod browser_management;
mod browser_marketing;
mod cli;
mod harness;
mod import;
// imports, merges, exports (issue 4)
mod import_records;
mod import_web;
// loyalty points and membership (issue 8)
mod loyalty;
// management KPIs, costs, targets (issue 9)
mod management;
mod marketing;
mod merge;
// lawful message sending (issue 8, point 3)
mod messaging;
mod mining;
mod mining_browser;
mod mining_views;
mod mining_web;
mod sales;
mod sales_api;
mod sales_browser;
mod store;
mod web;
