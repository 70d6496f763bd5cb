//! The loyalty ledger (migration 0014): accounts with their member number and balance,
//! append-only entries, lots with expiry, and which lots each debit consumed.
//!
//! Every write is one transaction that takes the member's account first — `SELECT … FOR
//! UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` (the database write lock) on SQLite — so two
//! concurrent redemptions cannot both spend the same points. Inside it the entries, the
//! lots and the balance change together: balance = Σ entries = Σ lot remainders.
//! Earning from one work order or purchase, and expiring one lot, carry a source key
//! (`UNIQUE (source_kind, source_id)`), so doing it twice writes nothing.

use crate::model::Id;
use crate::{Db, Pool, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use dealerbase_domain::ValidationError;
use dealerbase_domain::loyalty::{self as rules, OpenLot};
use serde::Serialize;
use sqlx::AssertSqlSafe;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LoyaltyAccount {
    pub customer_id: Id,
    pub store_id: Id,
    pub member_no: String,
    /// classic | silver | gold | platinum
    pub tier: String,
    pub balance: i64,
    pub joined_on: NaiveDate,
    pub reviewed_on: NaiveDate,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LoyaltyEntry {
    pub id: Id,
    pub customer_id: Id,
    pub store_id: Id,
    /// earn | redeem | transfer_out | transfer_in | expire | adjust
    pub kind: String,
    /// Signed: credits > 0, debits < 0.
    pub points: i64,
    pub occurred_on: NaiveDate,
    pub at: DateTime<Utc>,
    /// work_order | sales_order | expire (a lot), or none for manual entries.
    pub source_kind: Option<String>,
    pub source_id: Option<Id>,
    pub amount_fen: Option<i64>,
    pub counterpart_id: Option<Id>,
    pub counterpart_name: Option<String>,
    pub transfer_of: Option<Id>,
    pub staff_id: Option<Id>,
    pub staff_name: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LoyaltyLot {
    pub id: Id,
    pub customer_id: Id,
    /// The credit that opened the lot.
    pub entry_id: Id,
    pub earned_on: NaiveDate,
    pub expires_on: NaiveDate,
    pub points: i64,
    pub remaining: i64,
}

/// Points of a lot consumed by a debit.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct LotUse {
    pub entry_id: Id,
    pub lot_id: Id,
    pub points: i64,
}

/// A credit (earn, or a positive adjustment).
#[derive(Debug, Clone)]
pub struct Credit {
    pub customer_id: Id,
    /// The store where it was earned.
    pub store_id: Id,
    pub kind: &'static str,
    pub points: i64,
    pub occurred_on: NaiveDate,
    pub expires_on: NaiveDate,
    /// (source_kind, source_id): the work order or sales order; None for manual credits.
    pub source: Option<(&'static str, Id)>,
    pub amount_fen: Option<i64>,
    pub staff_id: Option<Id>,
    pub reason: String,
}

/// A debit (redeem, or a negative adjustment) of `points` (> 0).
#[derive(Debug, Clone)]
pub struct Debit {
    pub customer_id: Id,
    pub store_id: Id,
    pub kind: &'static str,
    pub points: i64,
    pub occurred_on: NaiveDate,
    pub staff_id: Option<Id>,
    pub reason: String,
}

/// A work order or delivered sale that has not earned its points yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccrualCandidate {
    pub source_id: Id,
    pub store_id: Id,
    pub customer_id: Id,
    /// Work-order kind, or "vehicle" for a sale.
    pub kind: String,
    pub paid_by: String,
    pub on: NaiveDate,
    pub total_fen: i64,
    pub labour_fen: i64,
    pub part_fen: i64,
    pub lines: i64,
    /// The member's tier now (None: not a member yet).
    pub tier: Option<String>,
}

/// The ledger's invariants for one customer, as the database sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LedgerCheck {
    pub balance: i64,
    pub entries_sum: i64,
    pub lots_remaining_sum: i64,
    /// Σ consumed points recorded against lots = −Σ debits.
    pub consumed_sum: i64,
    pub debits_sum: i64,
}

const ENTRY_SELECT: &str = "SELECT e.id, e.customer_id, e.store_id, e.kind, e.points, e.occurred_on, e.at, e.source_kind, e.source_id, \
     e.amount_fen, e.counterpart_id, cc.name AS counterpart_name, e.transfer_of, e.staff_id, s.name AS staff_name, e.reason \
     FROM loyalty_entry e LEFT JOIN customer cc ON cc.id = e.counterpart_id LEFT JOIN staff s ON s.id = e.staff_id";

/// Starts a write transaction that holds the write lock from its first statement on SQLite.
macro_rules! begin_write {
    ($db:expr, $p:ident) => {
        $p.begin_with(if matches!($db.pool, Pool::Sqlite(_)) {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN"
        })
    };
}

/// Makes sure the member has an account (issuing the member number once) and locks it.
/// Evaluates to the current balance.
macro_rules! lock_account {
    ($db:expr, $tx:ident, $customer:expr, $on:expr, $at:expr) => {{
        let lock = if matches!($db.pool, Pool::Postgres(_)) {
            " FOR UPDATE"
        } else {
            ""
        };
        let q = format!("SELECT balance FROM loyalty_account WHERE customer_id = $1{lock}");
        let found: Option<i64> = sqlx::query_scalar(AssertSqlSafe(q.clone()))
            .bind($customer)
            .fetch_optional(&mut *$tx)
            .await?;
        match found {
            Some(b) => b,
            None => {
                let (store_id, code): (i64, String) = sqlx::query_as(
                    "SELECT c.store_id, s.code FROM customer c JOIN store s ON s.id = c.store_id WHERE c.id = $1",
                )
                .bind($customer)
                .fetch_one(&mut *$tx)
                .await?;
                sqlx::query("INSERT INTO loyalty_member_seq (store_id, last_seq) VALUES ($1, 0) ON CONFLICT (store_id) DO NOTHING")
                    .bind(store_id)
                    .execute(&mut *$tx)
                    .await?;
                let seq: i64 = sqlx::query_scalar(
                    "UPDATE loyalty_member_seq SET last_seq = last_seq + 1 WHERE store_id = $1 RETURNING last_seq",
                )
                .bind(store_id)
                .fetch_one(&mut *$tx)
                .await?;
                sqlx::query("INSERT INTO loyalty_account (customer_id, store_id, member_no, tier, balance, joined_on, reviewed_on, updated_at) \
                             VALUES ($1, $2, $3, 'classic', 0, $4, $4, $5) ON CONFLICT (customer_id) DO NOTHING")
                    .bind($customer)
                    .bind(store_id)
                    .bind(rules::member_number(&code, seq))
                    .bind($on)
                    .bind($at)
                    .execute(&mut *$tx)
                    .await?;
                sqlx::query_scalar::<_, i64>(AssertSqlSafe(q)).bind($customer).fetch_one(&mut *$tx).await?
            }
        }
    }};
}

/// The member's open lots (inside the transaction holding the account).
macro_rules! open_lots {
    ($tx:ident, $customer:expr) => {{
        let rows: Vec<(i64, NaiveDate, i64)> = sqlx::query_as(
            "SELECT id, expires_on, remaining FROM loyalty_lot WHERE customer_id = $1 AND remaining > 0 ORDER BY expires_on, id",
        )
        .bind($customer)
        .fetch_all(&mut *$tx)
        .await?;
        rows.into_iter()
            .map(|(id, expires_on, remaining)| OpenLot {
                id,
                expires_on,
                remaining,
            })
            .collect::<Vec<OpenLot>>()
    }};
}

/// Records that `entry` consumed `take` points of each lot, and lowers the lots.
macro_rules! consume {
    ($tx:ident, $entry:expr, $takes:expr) => {{
        for (lot, take) in $takes.iter() {
            sqlx::query("UPDATE loyalty_lot SET remaining = remaining - $1 WHERE id = $2")
                .bind(*take)
                .bind(*lot)
                .execute(&mut *$tx)
                .await?;
            sqlx::query(
                "INSERT INTO loyalty_entry_lot (entry_id, lot_id, points) VALUES ($1, $2, $3)",
            )
            .bind($entry)
            .bind(*lot)
            .bind(*take)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

macro_rules! add_balance {
    ($tx:ident, $customer:expr, $delta:expr, $at:expr) => {
        sqlx::query("UPDATE loyalty_account SET balance = balance + $1, updated_at = $2 WHERE customer_id = $3")
            .bind($delta)
            .bind($at)
            .bind($customer)
            .execute(&mut *$tx)
            .await?
    };
}

const INSERT_ENTRY: &str = "INSERT INTO loyalty_entry (customer_id, store_id, kind, points, occurred_on, at, source_kind, source_id, amount_fen, counterpart_id, transfer_of, staff_id, reason) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (source_kind, source_id) DO NOTHING RETURNING id";

const AUDIT: &str = "INSERT INTO audit_log (at, staff_id, action, entity, entity_id, detail) VALUES ($1, $2, 'loyalty_adjust', 'customer', $3, $4)";

impl Db {
    pub async fn loyalty_account(&self, customer_id: Id) -> Result<Option<LoyaltyAccount>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, LoyaltyAccount>(
            "SELECT customer_id, store_id, member_no, tier, balance, joined_on, reviewed_on FROM loyalty_account WHERE customer_id = $1")
            .bind(customer_id).fetch_optional(p).await?))
    }

    /// The member's entries, newest first.
    pub async fn loyalty_entries(&self, customer_id: Id, limit: i64) -> Result<Vec<LoyaltyEntry>> {
        let q = AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE e.customer_id = $1 ORDER BY e.id DESC LIMIT $2"
        ));
        on_pool!(self, p => Ok(sqlx::query_as::<_, LoyaltyEntry>(q).bind(customer_id).bind(limit).fetch_all(p).await?))
    }

    /// The member's lots, first to expire first.
    pub async fn loyalty_lots(&self, customer_id: Id) -> Result<Vec<LoyaltyLot>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, LoyaltyLot>(
            "SELECT id, customer_id, entry_id, earned_on, expires_on, points, remaining FROM loyalty_lot WHERE customer_id = $1 ORDER BY expires_on, id")
            .bind(customer_id).fetch_all(p).await?))
    }

    /// Which lots the member's debits consumed.
    pub async fn loyalty_lot_uses(&self, customer_id: Id) -> Result<Vec<LotUse>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, LotUse>(
            "SELECT u.entry_id, u.lot_id, u.points FROM loyalty_entry_lot u JOIN loyalty_entry e ON e.id = u.entry_id \
             WHERE e.customer_id = $1 ORDER BY u.entry_id, u.lot_id")
            .bind(customer_id).fetch_all(p).await?))
    }

    /// Writes credits in one transaction. A credit whose source already earned writes
    /// nothing (its slot in the answer is None).
    pub async fn loyalty_credit(
        &self,
        credits: &[Credit],
        at: DateTime<Utc>,
    ) -> Result<Vec<Option<Id>>> {
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p).await?;
            let mut out = Vec::with_capacity(credits.len());
            for c in credits {
                if c.points <= 0 {
                    out.push(None);
                    continue;
                }
                let id: Option<i64> = sqlx::query_scalar(INSERT_ENTRY)
                    .bind(c.customer_id).bind(c.store_id).bind(c.kind).bind(c.points).bind(c.occurred_on).bind(at)
                    .bind(c.source.map(|s| s.0)).bind(c.source.map(|s| s.1)).bind(c.amount_fen)
                    .bind(None::<i64>).bind(None::<i64>).bind(c.staff_id).bind(&c.reason)
                    .fetch_optional(&mut *tx).await?;
                if let Some(entry) = id {
                    lock_account!(self, tx, c.customer_id, c.occurred_on, at);
                    sqlx::query("INSERT INTO loyalty_lot (customer_id, entry_id, earned_on, expires_on, points, remaining) VALUES ($1, $2, $3, $4, $5, $5)")
                        .bind(c.customer_id).bind(entry).bind(c.occurred_on).bind(c.expires_on).bind(c.points)
                        .execute(&mut *tx).await?;
                    add_balance!(tx, c.customer_id, c.points, at);
                    if c.kind == "adjust" {
                        sqlx::query(AUDIT).bind(at).bind(c.staff_id).bind(c.customer_id)
                            .bind(format!("+{} {}", c.points, c.reason)).execute(&mut *tx).await?;
                    }
                }
                out.push(id);
            }
            tx.commit().await?;
            Ok(out)
        })
    }

    /// Takes points from the member's lots, first to expire first. The inner error is the
    /// rule broken (insufficient_points naming the balance); nothing is written then.
    pub async fn loyalty_debit(
        &self,
        d: &Debit,
        at: DateTime<Utc>,
    ) -> Result<std::result::Result<Id, ValidationError>> {
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p).await?;
            let existing: Option<i64> = sqlx::query_scalar("SELECT customer_id FROM loyalty_account WHERE customer_id = $1")
                .bind(d.customer_id).fetch_optional(&mut *tx).await?;
            let balance = if existing.is_some() { lock_account!(self, tx, d.customer_id, d.occurred_on, at) } else { 0 };
            let lots = if existing.is_some() { open_lots!(tx, d.customer_id) } else { Vec::new() };
            let takes = match rules::consume_fifo("points", &lots, d.points) {
                Ok(t) => t,
                Err(e) => {
                    tx.rollback().await?;
                    return Ok(Err(e));
                }
            };
            debug_assert_eq!(balance, lots.iter().map(|l| l.remaining).sum::<i64>());
            let entry: i64 = sqlx::query_scalar(INSERT_ENTRY)
                .bind(d.customer_id).bind(d.store_id).bind(d.kind).bind(-d.points).bind(d.occurred_on).bind(at)
                .bind(None::<String>).bind(None::<i64>).bind(None::<i64>)
                .bind(None::<i64>).bind(None::<i64>).bind(d.staff_id).bind(&d.reason)
                .fetch_one(&mut *tx).await?;
            consume!(tx, entry, takes);
            add_balance!(tx, d.customer_id, -d.points, at);
            if d.kind == "adjust" {
                sqlx::query(AUDIT).bind(at).bind(d.staff_id).bind(d.customer_id)
                    .bind(format!("-{} {}", d.points, d.reason)).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(Ok(entry))
        })
    }

    /// Moves points from one member to another in one transaction: a transfer_out that
    /// consumes the giver's lots first-expiring first, and a transfer_in (naming it) that
    /// opens one lot per lot taken, with that lot's earning and expiry dates. Both accounts
    /// are locked in customer-id order. Answers (transfer_out id, transfer_in id).
    #[allow(clippy::too_many_arguments)]
    pub async fn loyalty_transfer(
        &self,
        from: Id,
        to: Id,
        store_id: Id,
        points: i64,
        occurred_on: NaiveDate,
        staff_id: Option<Id>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<std::result::Result<(Id, Id), ValidationError>> {
        on_pool!(self, p => {
            let mut tx = begin_write!(self, p).await?;
            let existing: Option<i64> = sqlx::query_scalar("SELECT customer_id FROM loyalty_account WHERE customer_id = $1")
                .bind(from).fetch_optional(&mut *tx).await?;
            if existing.is_none() {
                tx.rollback().await?;
                return Ok(rules::check_points("points", points, 0).map(|_| (0, 0)));
            }
            for c in [from.min(to), from.max(to)] {
                lock_account!(self, tx, c, occurred_on, at);
            }
            let lots = open_lots!(tx, from);
            let takes = match rules::consume_fifo("points", &lots, points) {
                Ok(t) => t,
                Err(e) => {
                    tx.rollback().await?;
                    return Ok(Err(e));
                }
            };
            let out: i64 = sqlx::query_scalar(INSERT_ENTRY)
                .bind(from).bind(store_id).bind("transfer_out").bind(-points).bind(occurred_on).bind(at)
                .bind(None::<String>).bind(None::<i64>).bind(None::<i64>)
                .bind(Some(to)).bind(None::<i64>).bind(staff_id).bind(reason)
                .fetch_one(&mut *tx).await?;
            let inn: i64 = sqlx::query_scalar(INSERT_ENTRY)
                .bind(to).bind(store_id).bind("transfer_in").bind(points).bind(occurred_on).bind(at)
                .bind(None::<String>).bind(None::<i64>).bind(None::<i64>)
                .bind(Some(from)).bind(Some(out)).bind(staff_id).bind(reason)
                .fetch_one(&mut *tx).await?;
            consume!(tx, out, takes);
            for (lot, take) in &takes {
                sqlx::query("INSERT INTO loyalty_lot (customer_id, entry_id, earned_on, expires_on, points, remaining) \
                             SELECT $1, $2, earned_on, expires_on, $3, $3 FROM loyalty_lot WHERE id = $4")
                    .bind(to).bind(inn).bind(*take).bind(*lot).execute(&mut *tx).await?;
            }
            add_balance!(tx, from, -points, at);
            add_balance!(tx, to, points, at);
            tx.commit().await?;
            Ok(Ok((out, inn)))
        })
    }

    /// Expires every lot due on `today` (expires_on ≤ today) that still holds points: one
    /// `expire` entry per lot (source key: the lot), one transaction per member. Answers the
    /// number of lots expired.
    pub async fn loyalty_expire_due(&self, today: NaiveDate, at: DateTime<Utc>) -> Result<u64> {
        let mut n = 0;
        loop {
            let members: Vec<i64> = on_pool!(self, p => sqlx::query_scalar(
                "SELECT DISTINCT customer_id FROM loyalty_lot WHERE expires_on <= $1 AND remaining > 0 ORDER BY customer_id LIMIT 500")
                .bind(today).fetch_all(p).await?);
            if members.is_empty() {
                return Ok(n);
            }
            for customer in members {
                n += on_pool!(self, p => {
                    let mut tx = begin_write!(self, p).await?;
                    lock_account!(self, tx, customer, today, at);
                    let due: Vec<(i64, i64)> = sqlx::query_as(
                        "SELECT id, remaining FROM loyalty_lot WHERE customer_id = $1 AND expires_on <= $2 AND remaining > 0 ORDER BY id")
                        .bind(customer).bind(today).fetch_all(&mut *tx).await?;
                    let store_id: i64 = sqlx::query_scalar("SELECT store_id FROM loyalty_account WHERE customer_id = $1")
                        .bind(customer).fetch_one(&mut *tx).await?;
                    let mut k = 0u64;
                    for (lot, remaining) in due {
                        let entry: Option<i64> = sqlx::query_scalar(INSERT_ENTRY)
                            .bind(customer).bind(store_id).bind("expire").bind(-remaining).bind(today).bind(at)
                            .bind(Some("expire")).bind(Some(lot)).bind(None::<i64>)
                            .bind(None::<i64>).bind(None::<i64>).bind(None::<i64>).bind("")
                            .fetch_optional(&mut *tx).await?;
                        if let Some(entry) = entry {
                            consume!(tx, entry, [(lot, remaining)]);
                            add_balance!(tx, customer, -remaining, at);
                            k += 1;
                        }
                    }
                    tx.commit().await?;
                    Result::<u64>::Ok(k)
                })?;
            }
        }
    }

    /// Settled, customer-paid work orders on or after `since` with id > `after` that have
    /// not earned points yet, in id order.
    pub async fn loyalty_work_orders_to_accrue(
        &self,
        since: NaiveDate,
        after: Id,
        limit: i64,
    ) -> Result<Vec<AccrualCandidate>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, AccrualCandidate>(
            "SELECT w.id AS source_id, w.store_id, w.customer_id, w.kind, w.paid_by, w.settled_on AS \"on\", w.total_fen, \
             CAST(COALESCE((SELECT SUM(l.amount_fen) FROM work_order_line l WHERE l.work_order_id = w.id AND l.line_kind = 'labour'), 0) AS BIGINT) AS labour_fen, \
             CAST(COALESCE((SELECT SUM(l.amount_fen) FROM work_order_line l WHERE l.work_order_id = w.id AND l.line_kind = 'part'), 0) AS BIGINT) AS part_fen, \
             (SELECT COUNT(*) FROM work_order_line l WHERE l.work_order_id = w.id) AS lines, \
             (SELECT a.tier FROM loyalty_account a WHERE a.customer_id = w.customer_id) AS tier \
             FROM work_order w JOIN customer c ON c.id = w.customer_id \
             WHERE w.status = 'settled' AND w.paid_by = 'customer' AND w.settled_on >= $1 AND w.id > $2 AND c.merged_into IS NULL \
             AND NOT EXISTS (SELECT 1 FROM loyalty_entry e WHERE e.source_kind = 'work_order' AND e.source_id = w.id) \
             ORDER BY w.id LIMIT $3")
            .bind(since).bind(after).bind(limit).fetch_all(p).await?))
    }

    /// Delivered sales on or after `since` with id > `after` that have not earned points yet.
    pub async fn loyalty_sales_to_accrue(
        &self,
        since: NaiveDate,
        after: Id,
        limit: i64,
    ) -> Result<Vec<AccrualCandidate>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, AccrualCandidate>(
            "SELECT o.id AS source_id, o.store_id, o.customer_id, 'vehicle' AS kind, 'customer' AS paid_by, o.delivered_on AS \"on\", \
             o.price_fen AS total_fen, CAST(0 AS BIGINT) AS labour_fen, CAST(0 AS BIGINT) AS part_fen, CAST(0 AS BIGINT) AS lines, \
             (SELECT a.tier FROM loyalty_account a WHERE a.customer_id = o.customer_id) AS tier \
             FROM sales_order o JOIN customer c ON c.id = o.customer_id \
             WHERE o.status = 'delivered' AND o.delivered_on >= $1 AND o.id > $2 AND c.merged_into IS NULL \
             AND NOT EXISTS (SELECT 1 FROM loyalty_entry e WHERE e.source_kind = 'sales_order' AND e.source_id = o.id) \
             ORDER BY o.id LIMIT $3")
            .bind(since).bind(after).bind(limit).fetch_all(p).await?))
    }

    /// Points earned (not transferred) and spend in fen from `since` on.
    pub async fn loyalty_trailing(&self, customer_id: Id, since: NaiveDate) -> Result<(i64, i64)> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, i64)>(
            "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM loyalty_entry \
             WHERE customer_id = $1 AND kind = 'earn' AND occurred_on >= $2")
            .bind(customer_id).bind(since).fetch_one(p).await?))
    }

    /// Sets a member's tier; `reviewed_on` marks a yearly review.
    pub async fn loyalty_set_tier(
        &self,
        customer_id: Id,
        tier: &str,
        reviewed_on: Option<NaiveDate>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("UPDATE loyalty_account SET tier = $1, reviewed_on = COALESCE($2, reviewed_on), updated_at = $3 WHERE customer_id = $4")
                .bind(tier).bind(reviewed_on).bind(at).bind(customer_id).execute(p).await?;
            Ok(())
        })
    }

    /// Members last reviewed on or before `on`, with customer id > `after`.
    pub async fn loyalty_accounts_to_review(
        &self,
        on: NaiveDate,
        after: Id,
        limit: i64,
    ) -> Result<Vec<LoyaltyAccount>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, LoyaltyAccount>(
            "SELECT customer_id, store_id, member_no, tier, balance, joined_on, reviewed_on FROM loyalty_account \
             WHERE reviewed_on <= $1 AND customer_id > $2 ORDER BY customer_id LIMIT $3")
            .bind(on).bind(after).bind(limit).fetch_all(p).await?))
    }

    /// The ledger's sums for one member (the invariants: all equal, and consumed = −debits).
    pub async fn loyalty_check(&self, customer_id: Id) -> Result<LedgerCheck> {
        on_pool!(self, p => {
            let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM loyalty_account WHERE customer_id = $1")
                .bind(customer_id).fetch_optional(p).await?;
            let (entries_sum, debits_sum): (i64, i64) = sqlx::query_as(
                "SELECT CAST(COALESCE(SUM(points), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN points < 0 THEN points ELSE 0 END), 0) AS BIGINT) \
                 FROM loyalty_entry WHERE customer_id = $1")
                .bind(customer_id).fetch_one(p).await?;
            let lots: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM loyalty_lot WHERE customer_id = $1")
                .bind(customer_id).fetch_one(p).await?;
            let consumed: i64 = sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(u.points), 0) AS BIGINT) FROM loyalty_entry_lot u JOIN loyalty_entry e ON e.id = u.entry_id WHERE e.customer_id = $1")
                .bind(customer_id).fetch_one(p).await?;
            Ok(LedgerCheck { balance: balance.unwrap_or(0), entries_sum, lots_remaining_sum: lots, consumed_sum: consumed, debits_sum })
        })
    }

    /// Transfers that do not pair up: a transfer_out without exactly one transfer_in of the
    /// same points naming it, or a transfer_in naming no transfer_out. Zero when sound.
    pub async fn loyalty_unpaired_transfers(&self) -> Result<i64> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT (SELECT COUNT(*) FROM loyalty_entry o WHERE o.kind = 'transfer_out' AND \
                 (SELECT COUNT(*) FROM loyalty_entry i WHERE i.kind = 'transfer_in' AND i.transfer_of = o.id AND i.points = -o.points \
                  AND i.customer_id = o.counterpart_id AND i.counterpart_id = o.customer_id) <> 1) \
             + (SELECT COUNT(*) FROM loyalty_entry i WHERE i.kind = 'transfer_in' AND NOT EXISTS \
                 (SELECT 1 FROM loyalty_entry o WHERE o.id = i.transfer_of AND o.kind = 'transfer_out'))")
            .fetch_one(p).await?))
    }
}
