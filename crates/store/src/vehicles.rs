//! Vehicles, their ownership over time and their odometer readings.

use crate::model::*;
use crate::sql::{Scope, Sql, bind_args};
use crate::{Db, Result, ResultExt, StoreError, on_pool};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;

const VEHICLE_COLUMNS: &str = "vin, engine_no, model_id, colour, model_year, plate, purchase_date, invoice_date, delivery_date, selling_store_id, own_sold, warranty_end_date, warranty_end_km, compulsory_insurance_end, commercial_insurance_end, inspection_due, store_id";

macro_rules! bind_vehicle_fields {
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

const VEHICLE_SELECT: &str = "SELECT v.*, m.name AS model_name, se.name AS series_name, b.name AS brand_name, \
     (SELECT o.customer_id FROM vehicle_ownership o WHERE o.vehicle_id = v.id AND o.to_date IS NULL ORDER BY o.from_date DESC LIMIT 1) AS owner_id \
     FROM vehicle v JOIN vehicle_model m ON m.id = v.model_id JOIN series se ON se.id = m.series_id JOIN brand b ON b.id = se.brand_id";

impl Db {
    /// Registers a vehicle and, if an owner is given, its first ownership, in one transaction.
    pub async fn create_vehicle(
        &self,
        f: &VehicleFields,
        owner: Option<(Id, NaiveDate)>,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let sql = format!("INSERT INTO vehicle ({VEHICLE_COLUMNS}, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) RETURNING id");
            let q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
            let id = bind_vehicle_fields!(q, f).bind(at).fetch_one(&mut *tx).await.on_unique("vin", &f.vin)?;
            if let Some((customer_id, from)) = owner {
                sqlx::query("INSERT INTO vehicle_ownership (vehicle_id, customer_id, from_date) VALUES ($1, $2, $3)")
                    .bind(id).bind(customer_id).bind(from).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn update_vehicle(&self, id: Id, f: &VehicleFields) -> Result<()> {
        let sets: Vec<String> = VEHICLE_COLUMNS
            .split(", ")
            .enumerate()
            .map(|(i, c)| format!("{c} = ${}", i + 1))
            .collect();
        let sql = format!("UPDATE vehicle SET {} WHERE id = $18", sets.join(", "));
        let done = on_pool!(self, p => {
            let q = sqlx::query(AssertSqlSafe(sql));
            bind_vehicle_fields!(q, f).bind(id).execute(p).await.on_unique("vin", &f.vin)?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound {
                entity: "vehicle",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// A vehicle if it is serviced by, or owned by a customer of, a store in the scope.
    /// (Consultants see vehicles of their own customers.)
    pub async fn vehicle(&self, scope: &Scope, id: Id) -> Result<Vehicle> {
        let mut sql = Sql::new(VEHICLE_SELECT);
        sql.push(" WHERE v.id = ").bind_i64(id);
        sql.push(" AND EXISTS (SELECT 1 FROM vehicle_ownership o JOIN customer c ON c.id = o.customer_id WHERE o.vehicle_id = v.id");
        sql.customer_scope(scope, "c").push(")");
        let row: Option<Vehicle> = on_pool!(self, p => {
            bind_args!(sqlx::query_as::<_, Vehicle>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_optional(p).await?
        });
        row.ok_or(StoreError::NotFound {
            entity: "vehicle",
            id: id.to_string(),
        })
    }

    /// Vehicles a customer owns or has owned, newest first.
    pub async fn customer_vehicles(&self, customer_id: Id) -> Result<Vec<(Vehicle, Ownership)>> {
        let sql = format!(
            "{VEHICLE_SELECT} WHERE v.id IN (SELECT vehicle_id FROM vehicle_ownership WHERE customer_id = $1) ORDER BY v.id DESC"
        );
        let vehicles: Vec<Vehicle> = on_pool!(self, p => sqlx::query_as::<_, Vehicle>(AssertSqlSafe(sql)).bind(customer_id).fetch_all(p).await?);
        let owns: Vec<Ownership> = on_pool!(self, p => sqlx::query_as::<_, Ownership>(
            "SELECT id, vehicle_id, customer_id, from_date, to_date FROM vehicle_ownership WHERE customer_id = $1 ORDER BY from_date DESC")
            .bind(customer_id).fetch_all(p).await?);
        Ok(vehicles
            .into_iter()
            .filter_map(|v| {
                let o = owns.iter().find(|o| o.vehicle_id == v.id)?.clone();
                Some((v, o))
            })
            .collect())
    }

    /// Moves a vehicle to a new owner from a date, closing the previous ownership.
    pub async fn transfer_vehicle(
        &self,
        vehicle_id: Id,
        new_owner: Id,
        on: NaiveDate,
    ) -> Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE vehicle_ownership SET to_date = $1 WHERE vehicle_id = $2 AND to_date IS NULL")
                .bind(on).bind(vehicle_id).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO vehicle_ownership (vehicle_id, customer_id, from_date) VALUES ($1, $2, $3)")
                .bind(vehicle_id).bind(new_owner).bind(on).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn ownership_history(&self, vehicle_id: Id) -> Result<Vec<Ownership>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Ownership>(
            "SELECT id, vehicle_id, customer_id, from_date, to_date FROM vehicle_ownership WHERE vehicle_id = $1 ORDER BY from_date, id")
            .bind(vehicle_id).fetch_all(p).await?))
    }

    pub async fn add_odometer_reading(&self, r: &OdometerReading) -> Result<()> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO odometer_reading (vehicle_id, read_on, km, source) VALUES ($1, $2, $3, $4)")
                .bind(r.vehicle_id).bind(r.read_on).bind(r.km).bind(&r.source).execute(p).await?;
            Ok(())
        })
    }

    /// Readings of several vehicles at once, oldest first.
    pub async fn odometer_readings(&self, vehicle_ids: &[Id]) -> Result<Vec<OdometerReading>> {
        if vehicle_ids.is_empty() {
            return Ok(Vec::new());
        }
        // Work orders carry the odometer at the visit; other readings (calls, imports,
        // manual entries) are kept in odometer_reading. Both are the vehicle's history.
        let mut sql = Sql::new(
            "SELECT vehicle_id, read_on, km, source FROM odometer_reading WHERE vehicle_id IN (",
        );
        let mut list = Sql::default();
        for (i, v) in vehicle_ids.iter().enumerate() {
            if i > 0 {
                list.push(", ");
            }
            list.push(&v.to_string());
        }
        sql.push(&list.text);
        sql.push(") UNION ALL SELECT vehicle_id, opened_on AS read_on, odometer_km AS km, 'work_order' AS source FROM work_order \
                  WHERE odometer_km IS NOT NULL AND vehicle_id IN (");
        sql.push(&list.text);
        sql.push(") ORDER BY 1, 2, 3");
        on_pool!(self, p => Ok(bind_args!(sqlx::query_as::<_, OdometerReading>(AssertSqlSafe(sql.text.clone())), sql.args).fetch_all(p).await?))
    }

    /// Maintenance visits (first service and regular maintenance) per vehicle for vehicles
    /// of our brand sold here and delivered before a date: the base of the first/second
    /// service return rates.
    pub async fn maintenance_visits_per_vehicle(
        &self,
        delivered_before: NaiveDate,
    ) -> Result<Vec<(Id, i64)>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, (i64, i64)>(
            "SELECT v.id, (SELECT COUNT(*) FROM work_order w WHERE w.vehicle_id = v.id AND w.kind IN ('first_service', 'maintenance')) \
             FROM vehicle v JOIN store s ON s.id = v.store_id JOIN vehicle_model m ON m.id = v.model_id JOIN series se ON se.id = m.series_id \
             WHERE v.own_sold AND se.brand_id = s.brand_id AND v.delivery_date < $1 ORDER BY v.id")
            .bind(delivered_before).fetch_all(p).await?))
    }

    /// Vehicle id by VIN, regardless of scope (used to detect duplicates).
    pub async fn vehicle_id_by_vin(&self, vin: &str) -> Result<Option<Id>> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>("SELECT id FROM vehicle WHERE vin = $1").bind(vin).fetch_optional(p).await?))
    }
}
