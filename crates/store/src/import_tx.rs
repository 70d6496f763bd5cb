//! The transaction of one import batch of vehicles, sales, work orders or policies. These
//! rows refer to each other (a work order needs its vehicle, a vehicle its owner), so the
//! service resolves and writes them row by row inside one transaction per batch, which
//! also carries the run's progress and problems: a killed import leaves whole batches only.
//! Reads inside the transaction see the batch's own writes, so a vehicle created by row 3
//! is found by row 4.

use crate::bulk::BulkConn;
use crate::customers::{CUSTOMER_COLUMNS, NameGrams};
use crate::import::{
    FieldChange, ImportCounts, ImportProblem, KeyKind, bind_customer_fields, problem_rows, progress,
};
use crate::model::*;
use crate::{Db, Pool, Result, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::AssertSqlSafe;

enum Inner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// One open import transaction. Dropped without [`ImportTx::commit`], it rolls back.
pub struct ImportTx {
    inner: Inner,
}

macro_rules! on_tx {
    ($self:expr, $t:ident => $body:expr) => {
        match &mut $self.inner {
            Inner::Sqlite($t) => $body,
            Inner::Postgres($t) => $body,
        }
    };
}

/// A sale as an import writes it (the order number makes a re-import find it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SaleFields {
    pub store_id: Id,
    pub customer_id: Id,
    pub vehicle_id: Option<Id>,
    pub model_id: Id,
    pub consultant_id: Option<Id>,
    pub kind: String,
    pub status: String,
    pub ordered_on: NaiveDate,
    pub deposit_fen: i64,
    pub price_fen: i64,
    pub delivered_on: Option<NaiveDate>,
    pub order_no: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PolicyFields {
    pub store_id: Id,
    pub vehicle_id: Id,
    pub customer_id: Id,
    pub kind: String,
    pub insurer: String,
    pub policy_no: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub premium_fen: i64,
    pub sold_here: bool,
}

/// A vehicle found by VIN or plate, with its current owner and its store's group.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FoundVehicle {
    pub id: Id,
    #[sqlx(flatten)]
    pub fields: VehicleFields,
    pub owner_id: Option<Id>,
    pub group_id: Id,
}

const VEHICLE_COLUMNS: &str = "vin, engine_no, model_id, colour, model_year, plate, purchase_date, invoice_date, delivery_date, selling_store_id, own_sold, warranty_end_date, warranty_end_km, compulsory_insurance_end, commercial_insurance_end, inspection_due, store_id";

macro_rules! bind_vehicle {
    ($q:expr, $f:expr) => {
        $q.bind(&$f.vin)
            .bind(&$f.engine_no)
            .bind($f.model_id)
            .bind(&$f.colour)
            .bind($f.model_year)
            .bind(&$f.plate)
            .bind($f.purchase_date)
            .bind($f.invoice_date)
            .bind($f.delivery_date)
            .bind($f.selling_store_id)
            .bind($f.own_sold)
            .bind($f.warranty_end_date)
            .bind($f.warranty_end_km)
            .bind($f.compulsory_insurance_end)
            .bind($f.commercial_insurance_end)
            .bind($f.inspection_due)
            .bind($f.store_id)
    };
}

const FOUND_VEHICLE: &str = "SELECT v.id, v.vin, v.engine_no, v.model_id, v.colour, v.model_year, v.plate, v.purchase_date, v.invoice_date, v.delivery_date, \
     v.selling_store_id, v.own_sold, v.warranty_end_date, v.warranty_end_km, v.compulsory_insurance_end, v.commercial_insurance_end, v.inspection_due, v.store_id, \
     (SELECT o.customer_id FROM vehicle_ownership o WHERE o.vehicle_id = v.id AND o.to_date IS NULL ORDER BY o.from_date DESC, o.id DESC LIMIT 1) AS owner_id, \
     s.group_id FROM vehicle v JOIN store s ON s.id = v.store_id";

impl Db {
    pub async fn begin_import(&self) -> Result<ImportTx> {
        Ok(ImportTx {
            inner: match &self.pool {
                Pool::Sqlite(p) => {
                    let mut tx = p.begin().await?;
                    // Take the write lock now: a transaction that reads first and writes
                    // later fails if another connection wrote in between (WAL snapshot).
                    sqlx::query("UPDATE import_run SET id = id WHERE id = -1")
                        .execute(&mut *tx)
                        .await?;
                    Inner::Sqlite(tx)
                }
                Pool::Postgres(p) => Inner::Postgres(p.begin().await?),
            },
        })
    }

    /// Staff of a group: (id, store, login, name), to recognise advisors and consultants
    /// named in a file.
    pub async fn staff_names(&self, group_id: Id) -> Result<Vec<(Id, Option<Id>, String, String)>> {
        on_pool!(self, p => Ok(sqlx::query_as("SELECT id, store_id, login, name FROM staff WHERE group_id = $1 ORDER BY id")
            .bind(group_id).fetch_all(p).await?))
    }
}

impl ImportTx {
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            Inner::Sqlite(t) => t.commit().await?,
            Inner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            Inner::Sqlite(t) => t.rollback().await?,
            Inner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    /// The run's progress and this batch's problems (first, so that on SQLite the
    /// transaction holds the write lock from the start).
    pub async fn progress(
        &mut self,
        run_id: Id,
        rows_done: i64,
        c: ImportCounts,
        problems: &[ImportProblem],
    ) -> Result<()> {
        on_tx!(self, tx => {
            progress!(&mut **tx, run_id, rows_done, c);
            tx.write_rows(&problem_rows(run_id, problems)).await?;
        });
        Ok(())
    }

    /// Live customers of the group recognised by a mobile, an ID number or the VIN of a
    /// vehicle they own now.
    pub async fn customer_ids_by_keys(
        &mut self,
        group_id: Id,
        mobile: Option<&str>,
        id_number: Option<&str>,
        vin: Option<&str>,
    ) -> Result<Vec<(KeyKind, Id)>> {
        let live =
            "c.merged_into IS NULL AND c.store_id IN (SELECT id FROM store WHERE group_id = $1)";
        let mut out = Vec::new();
        for (kind, key) in [
            (KeyKind::Mobile, mobile),
            (KeyKind::IdNumber, id_number),
            (KeyKind::Vin, vin),
        ] {
            let Some(key) = key else { continue };
            let sql = match kind {
                KeyKind::Mobile => format!(
                    "SELECT c.id FROM customer c WHERE {live} AND c.mobile = $2 ORDER BY c.id"
                ),
                KeyKind::IdNumber => format!(
                    "SELECT c.id FROM customer c WHERE {live} AND c.id_number = $2 ORDER BY c.id"
                ),
                KeyKind::Vin => format!(
                    "SELECT c.id FROM vehicle v JOIN vehicle_ownership o ON o.vehicle_id = v.id AND o.to_date IS NULL \
                     JOIN customer c ON c.id = o.customer_id WHERE {live} AND v.vin = $2 ORDER BY c.id"
                ),
            };
            let ids: Vec<i64> = on_tx!(self, tx => sqlx::query_scalar(AssertSqlSafe(sql)).bind(group_id).bind(key).fetch_all(&mut **tx).await?);
            out.extend(ids.into_iter().map(|id| (kind, id)));
        }
        Ok(out)
    }

    pub async fn customer(&mut self, id: Id) -> Result<Customer> {
        on_tx!(self, tx => Ok(sqlx::query_as::<_, Customer>("SELECT * FROM customer WHERE id = $1").bind(id).fetch_one(&mut **tx).await?))
    }

    /// A new customer with its name fragments.
    pub async fn insert_customer(
        &mut self,
        f: &CustomerFields,
        class: (&str, &str),
        at: DateTime<Utc>,
    ) -> Result<Id> {
        let sql = format!(
            "INSERT INTO customer ({CUSTOMER_COLUMNS}, class, class_reason, created_at, updated_at) VALUES \
             ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29) RETURNING id"
        );
        on_tx!(self, tx => {
            let q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
            let id = bind_customer_fields!(q, f).bind(class.0).bind(class.1).bind(at).bind(at).fetch_one(&mut **tx).await?;
            tx.write_name_grams(&[(id, &f.name)], true).await?;
            Ok(id)
        })
    }

    /// Replaces a customer's fields and records each change for the run.
    pub async fn update_customer(
        &mut self,
        id: Id,
        f: &CustomerFields,
        changes: &[FieldChange],
        run_id: Option<Id>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let assignments: Vec<String> = CUSTOMER_COLUMNS
            .split(", ")
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let sql = format!(
            "UPDATE customer SET {}, updated_at = $26 WHERE id = $27",
            assignments.join(", ")
        );
        on_tx!(self, tx => {
            let q = sqlx::query(AssertSqlSafe(sql));
            bind_customer_fields!(q, f).bind(at).bind(id).execute(&mut **tx).await?;
            for c in changes {
                sqlx::query("INSERT INTO customer_change (customer_id, import_run_id, field, old_value, new_value, at) VALUES ($1,$2,$3,$4,$5,$6)")
                    .bind(id).bind(run_id).bind(&c.field).bind(&c.old_value).bind(&c.new_value).bind(at).execute(&mut **tx).await?;
            }
            if changes.iter().any(|c| c.field == "name") {
                tx.write_name_grams(&[(id, &f.name)], false).await?;
            }
        });
        Ok(())
    }

    pub async fn vehicle_by_vin(&mut self, vin: &str) -> Result<Option<FoundVehicle>> {
        let sql = format!("{FOUND_VEHICLE} WHERE v.vin = $1");
        on_tx!(self, tx => Ok(sqlx::query_as::<_, FoundVehicle>(AssertSqlSafe(sql)).bind(vin).fetch_optional(&mut **tx).await?))
    }

    /// Vehicles of the group with this plate (a plate can move between vehicles over the
    /// years; the caller rejects an ambiguous plate).
    pub async fn vehicles_by_plate(
        &mut self,
        group_id: Id,
        plate: &str,
    ) -> Result<Vec<FoundVehicle>> {
        let sql =
            format!("{FOUND_VEHICLE} WHERE v.plate = $1 AND s.group_id = $2 ORDER BY v.id LIMIT 2");
        on_tx!(self, tx => Ok(sqlx::query_as::<_, FoundVehicle>(AssertSqlSafe(sql)).bind(plate).bind(group_id).fetch_all(&mut **tx).await?))
    }

    /// A new vehicle with its first owner.
    pub async fn insert_vehicle(
        &mut self,
        f: &VehicleFields,
        owner: Id,
        from: NaiveDate,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        let sql = format!(
            "INSERT INTO vehicle ({VEHICLE_COLUMNS}, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) RETURNING id"
        );
        on_tx!(self, tx => {
            let q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
            let id = bind_vehicle!(q, f).bind(at).fetch_one(&mut **tx).await?;
            sqlx::query("INSERT INTO vehicle_ownership (vehicle_id, customer_id, from_date) VALUES ($1, $2, $3)")
                .bind(id).bind(owner).bind(from).execute(&mut **tx).await?;
            Ok(id)
        })
    }

    pub async fn update_vehicle(&mut self, id: Id, f: &VehicleFields) -> Result<()> {
        let sets: Vec<String> = VEHICLE_COLUMNS
            .split(", ")
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let sql = format!("UPDATE vehicle SET {} WHERE id = $18", sets.join(", "));
        on_tx!(self, tx => {
            let q = sqlx::query(AssertSqlSafe(sql));
            bind_vehicle!(q, f).bind(id).execute(&mut **tx).await?;
        });
        Ok(())
    }

    /// Moves a vehicle to another owner from a date (the previous ownership ends then).
    pub async fn transfer_vehicle(
        &mut self,
        vehicle_id: Id,
        owner: Id,
        on: NaiveDate,
    ) -> Result<()> {
        on_tx!(self, tx => {
            sqlx::query("UPDATE vehicle_ownership SET to_date = $1 WHERE vehicle_id = $2 AND to_date IS NULL")
                .bind(on).bind(vehicle_id).execute(&mut **tx).await?;
            sqlx::query("INSERT INTO vehicle_ownership (vehicle_id, customer_id, from_date) VALUES ($1, $2, $3)")
                .bind(vehicle_id).bind(owner).bind(on).execute(&mut **tx).await?;
        });
        Ok(())
    }

    /// An odometer reading, unless the vehicle already has one with this distance (so a
    /// file imported again adds nothing). Returns whether it was added.
    pub async fn add_odometer_reading(
        &mut self,
        vehicle_id: Id,
        on: NaiveDate,
        km: i64,
        source: &str,
    ) -> Result<bool> {
        on_tx!(self, tx => {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM odometer_reading WHERE vehicle_id = $1 AND km = $2")
                .bind(vehicle_id).bind(km).fetch_one(&mut **tx).await?;
            if n > 0 {
                return Ok(false);
            }
            sqlx::query("INSERT INTO odometer_reading (vehicle_id, read_on, km, source) VALUES ($1, $2, $3, $4)")
                .bind(vehicle_id).bind(on).bind(km).bind(source).execute(&mut **tx).await?;
            Ok(true)
        })
    }

    /// The sale with this order number in the store, or else the sale of this vehicle in
    /// the store.
    pub async fn find_sale(
        &mut self,
        store_id: Id,
        order_no: Option<&str>,
        vehicle_id: Option<Id>,
    ) -> Result<Option<(Id, SaleFields)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Id,
            #[sqlx(flatten)]
            f: SaleFields,
        }
        const COLS: &str = "id, store_id, customer_id, vehicle_id, model_id, consultant_id, kind, status, ordered_on, deposit_fen, price_fen, delivered_on, order_no";
        let row: Option<Row> = on_tx!(self, tx => {
            if let Some(no) = order_no {
                sqlx::query_as::<_, Row>(AssertSqlSafe(format!("SELECT {COLS} FROM sales_order WHERE store_id = $1 AND order_no = $2")))
                    .bind(store_id).bind(no).fetch_optional(&mut **tx).await?
            } else if let Some(v) = vehicle_id {
                sqlx::query_as::<_, Row>(AssertSqlSafe(format!("SELECT {COLS} FROM sales_order WHERE store_id = $1 AND vehicle_id = $2 ORDER BY id LIMIT 1")))
                    .bind(store_id).bind(v).fetch_optional(&mut **tx).await?
            } else {
                None
            }
        });
        Ok(row.map(|r| (r.id, r.f)))
    }

    pub async fn insert_sale(&mut self, f: &SaleFields) -> Result<Id> {
        on_tx!(self, tx => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO sales_order (store_id, customer_id, vehicle_id, model_id, consultant_id, kind, status, ordered_on, deposit_fen, price_fen, delivered_on, order_no) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id")
            .bind(f.store_id).bind(f.customer_id).bind(f.vehicle_id).bind(f.model_id).bind(f.consultant_id).bind(&f.kind).bind(&f.status)
            .bind(f.ordered_on).bind(f.deposit_fen).bind(f.price_fen).bind(f.delivered_on).bind(&f.order_no)
            .fetch_one(&mut **tx).await?))
    }

    pub async fn update_sale(&mut self, id: Id, f: &SaleFields) -> Result<()> {
        on_tx!(self, tx => {
            sqlx::query("UPDATE sales_order SET customer_id = $1, vehicle_id = $2, model_id = $3, consultant_id = $4, kind = $5, status = $6, \
                 ordered_on = $7, deposit_fen = $8, price_fen = $9, delivered_on = $10, order_no = $11 WHERE id = $12")
                .bind(f.customer_id).bind(f.vehicle_id).bind(f.model_id).bind(f.consultant_id).bind(&f.kind).bind(&f.status)
                .bind(f.ordered_on).bind(f.deposit_fen).bind(f.price_fen).bind(f.delivered_on).bind(&f.order_no).bind(id)
                .execute(&mut **tx).await?;
        });
        Ok(())
    }

    /// A work order of the store by number, with its lines.
    pub async fn work_order_by_number(
        &mut self,
        store_id: Id,
        number: &str,
    ) -> Result<Option<WorkOrder>> {
        on_tx!(self, tx => {
            let wo: Option<WorkOrder> = sqlx::query_as::<_, WorkOrder>("SELECT * FROM work_order WHERE store_id = $1 AND number = $2")
                .bind(store_id).bind(number).fetch_optional(&mut **tx).await?;
            let Some(mut wo) = wo else { return Ok(None) };
            wo.lines = sqlx::query_as::<_, WorkOrderLine>(
                "SELECT line_kind, code, name, quantity, amount_fen, cost_fen FROM work_order_line WHERE work_order_id = $1 ORDER BY id")
                .bind(wo.id).fetch_all(&mut **tx).await?;
            Ok(Some(wo))
        })
    }

    /// Inserts a work order with its lines, or (with `id`) replaces one and its lines.
    pub async fn write_work_order(
        &mut self,
        id: Option<Id>,
        f: &WorkOrderFields,
        lines: &[WorkOrderLine],
    ) -> Result<Id> {
        on_tx!(self, tx => {
            let id = match id {
                None => sqlx::query_scalar::<_, i64>(
                    "INSERT INTO work_order (store_id, number, vehicle_id, customer_id, advisor_id, kind, status, opened_on, settled_on, odometer_km, total_fen, paid_by) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id")
                    .bind(f.store_id).bind(&f.number).bind(f.vehicle_id).bind(f.customer_id).bind(f.advisor_id).bind(&f.kind)
                    .bind(&f.status).bind(f.opened_on).bind(f.settled_on).bind(f.odometer_km).bind(f.total_fen).bind(&f.paid_by)
                    .fetch_one(&mut **tx).await?,
                Some(id) => {
                    sqlx::query("UPDATE work_order SET vehicle_id = $1, customer_id = $2, advisor_id = $3, kind = $4, status = $5, opened_on = $6, \
                         settled_on = $7, odometer_km = $8, total_fen = $9, paid_by = $10 WHERE id = $11")
                        .bind(f.vehicle_id).bind(f.customer_id).bind(f.advisor_id).bind(&f.kind).bind(&f.status).bind(f.opened_on)
                        .bind(f.settled_on).bind(f.odometer_km).bind(f.total_fen).bind(&f.paid_by).bind(id)
                        .execute(&mut **tx).await?;
                    sqlx::query("DELETE FROM work_order_line WHERE work_order_id = $1").bind(id).execute(&mut **tx).await?;
                    id
                }
            };
            for l in lines {
                sqlx::query("INSERT INTO work_order_line (work_order_id, line_kind, code, name, quantity, amount_fen, cost_fen) VALUES ($1,$2,$3,$4,$5,$6,$7)")
                    .bind(id).bind(&l.line_kind).bind(&l.code).bind(&l.name).bind(l.quantity).bind(l.amount_fen).bind(l.cost_fen)
                    .execute(&mut **tx).await?;
            }
            Ok(id)
        })
    }

    /// A policy of the group by policy number and kind.
    pub async fn find_policy(
        &mut self,
        group_id: Id,
        policy_no: &str,
        kind: &str,
    ) -> Result<Option<(Id, PolicyFields)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: Id,
            #[sqlx(flatten)]
            f: PolicyFields,
        }
        let row: Option<Row> = on_tx!(self, tx => sqlx::query_as::<_, Row>(
            "SELECT i.id, i.store_id, i.vehicle_id, i.customer_id, i.kind, i.insurer, i.policy_no, i.start_date, i.end_date, i.premium_fen, i.sold_here \
             FROM insurance_policy i JOIN store s ON s.id = i.store_id WHERE i.policy_no = $1 AND i.kind = $2 AND s.group_id = $3 ORDER BY i.id LIMIT 1")
            .bind(policy_no).bind(kind).bind(group_id).fetch_optional(&mut **tx).await?);
        Ok(row.map(|r| (r.id, r.f)))
    }

    /// Inserts a policy or (with `id`) replaces one. The previous policy of the same kind
    /// on the vehicle that ends before this one starts becomes the one it renews.
    pub async fn write_policy(&mut self, id: Option<Id>, f: &PolicyFields) -> Result<Id> {
        on_tx!(self, tx => {
            let renewal_of: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM insurance_policy WHERE vehicle_id = $1 AND kind = $2 AND end_date <= $3 AND policy_no <> $4 ORDER BY end_date DESC, id DESC LIMIT 1")
                .bind(f.vehicle_id).bind(&f.kind).bind(f.start_date).bind(&f.policy_no).fetch_optional(&mut **tx).await?;
            let id = match id {
                None => sqlx::query_scalar::<_, i64>(
                    "INSERT INTO insurance_policy (store_id, vehicle_id, customer_id, kind, insurer, policy_no, start_date, end_date, premium_fen, sold_here, renewal_of) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id")
                    .bind(f.store_id).bind(f.vehicle_id).bind(f.customer_id).bind(&f.kind).bind(&f.insurer).bind(&f.policy_no)
                    .bind(f.start_date).bind(f.end_date).bind(f.premium_fen).bind(f.sold_here).bind(renewal_of)
                    .fetch_one(&mut **tx).await?,
                Some(id) => {
                    sqlx::query("UPDATE insurance_policy SET vehicle_id = $1, customer_id = $2, insurer = $3, start_date = $4, end_date = $5, \
                         premium_fen = $6, sold_here = $7, renewal_of = $8 WHERE id = $9")
                        .bind(f.vehicle_id).bind(f.customer_id).bind(&f.insurer).bind(f.start_date).bind(f.end_date)
                        .bind(f.premium_fen).bind(f.sold_here).bind(renewal_of).bind(id)
                        .execute(&mut **tx).await?;
                    id
                }
            };
            Ok(id)
        })
    }
}
