//! The group, its stores, the brand/series/model catalogue with maintenance schedules, and staff.

use crate::model::*;
use crate::{Db, Result, ResultExt, StoreError, on_pool};
use chrono::{DateTime, Utc};

/// A model with its schedule, as created by the demo generator and administrators.
#[derive(Debug, Clone)]
pub struct NewVehicleModel<'a> {
    pub series_id: Id,
    pub code: &'a str,
    pub name: &'a str,
    pub price_fen: i64,
    pub first_service_km: i64,
    pub first_service_months: i64,
    pub service_interval_km: i64,
    pub service_interval_months: i64,
    pub warranty_months: i64,
    pub warranty_km: i64,
}

impl Db {
    pub async fn create_group(&self, name: &str, at: DateTime<Utc>) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>("INSERT INTO dealer_group (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name).bind(at).fetch_one(p).await?))
    }

    pub async fn groups(&self) -> Result<Vec<DealerGroup>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, DealerGroup>("SELECT id, name FROM dealer_group ORDER BY id").fetch_all(p).await?))
    }

    pub async fn create_brand(&self, name: &str, name_en: &str) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>("INSERT INTO brand (name, name_en) VALUES ($1, $2) RETURNING id")
            .bind(name).bind(name_en).fetch_one(p).await.on_unique("brand", name)?))
    }

    pub async fn brands(&self) -> Result<Vec<Brand>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Brand>("SELECT id, name, name_en FROM brand ORDER BY id").fetch_all(p).await?))
    }

    pub async fn create_series(&self, brand_id: Id, name: &str) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>("INSERT INTO series (brand_id, name) VALUES ($1, $2) RETURNING id")
            .bind(brand_id).bind(name).fetch_one(p).await.on_unique("series", name)?))
    }

    pub async fn create_vehicle_model(&self, m: &NewVehicleModel<'_>) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO vehicle_model (series_id, code, name, price_fen, first_service_km, first_service_months, service_interval_km, \
             service_interval_months, warranty_months, warranty_km) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id")
            .bind(m.series_id).bind(m.code).bind(m.name).bind(m.price_fen).bind(m.first_service_km).bind(m.first_service_months)
            .bind(m.service_interval_km).bind(m.service_interval_months).bind(m.warranty_months).bind(m.warranty_km)
            .fetch_one(p).await.on_unique("model code", m.code)?))
    }

    pub async fn vehicle_models(&self) -> Result<Vec<VehicleModel>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, VehicleModel>("SELECT * FROM vehicle_model ORDER BY id").fetch_all(p).await?))
    }

    /// Models with their brand and series names, for pickers.
    pub async fn vehicle_model(&self, id: Id) -> Result<VehicleModel> {
        on_pool!(self, p => sqlx::query_as::<_, VehicleModel>("SELECT * FROM vehicle_model WHERE id = $1").bind(id).fetch_optional(p).await?)
            .ok_or(StoreError::NotFound { entity: "vehicle model", id: id.to_string() })
    }

    pub async fn brand_of_model(&self, model_id: Id) -> Result<Id> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT s.brand_id FROM vehicle_model m JOIN series s ON s.id = m.series_id WHERE m.id = $1")
            .bind(model_id).fetch_optional(p).await?)
            .ok_or(StoreError::NotFound { entity: "vehicle model", id: model_id.to_string() })
    }

    pub async fn create_store(
        &self,
        group_id: Id,
        code: &str,
        name: &str,
        city: &str,
        brand_id: Id,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO store (group_id, code, name, city, brand_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(group_id).bind(code).bind(name).bind(city).bind(brand_id).bind(at).fetch_one(p).await.on_unique("store code", code)?))
    }

    pub async fn stores(&self) -> Result<Vec<Store>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Store>("SELECT id, group_id, code, name, city, brand_id, settings FROM store ORDER BY id").fetch_all(p).await?))
    }

    pub async fn store(&self, id: Id) -> Result<Store> {
        on_pool!(self, p => sqlx::query_as::<_, Store>("SELECT id, group_id, code, name, city, brand_id, settings FROM store WHERE id = $1")
            .bind(id).fetch_optional(p).await?)
            .ok_or(StoreError::NotFound { entity: "store", id: id.to_string() })
    }

    pub async fn store_by_code(&self, code: &str) -> Result<Option<Store>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Store>("SELECT id, group_id, code, name, city, brand_id, settings FROM store WHERE code = $1")
            .bind(code).fetch_optional(p).await?))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_staff(
        &self,
        group_id: Id,
        store_id: Option<Id>,
        login: &str,
        name: &str,
        role: &str,
        password_hash: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO staff (group_id, store_id, login, name, role, password_hash, active, created_at) VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) RETURNING id")
            .bind(group_id).bind(store_id).bind(login).bind(name).bind(role).bind(password_hash).bind(at)
            .fetch_one(p).await.on_unique("login", login)?))
    }

    pub async fn staff(&self, id: Id) -> Result<Staff> {
        on_pool!(self, p => sqlx::query_as::<_, Staff>("SELECT id, group_id, store_id, login, name, role, password_hash, active FROM staff WHERE id = $1")
            .bind(id).fetch_optional(p).await?)
            .ok_or(StoreError::NotFound { entity: "staff", id: id.to_string() })
    }

    pub async fn staff_by_login(&self, login: &str) -> Result<Option<Staff>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Staff>("SELECT id, group_id, store_id, login, name, role, password_hash, active FROM staff WHERE login = $1")
            .bind(login).fetch_optional(p).await?))
    }

    pub async fn staff_of_store(&self, store_id: Id) -> Result<Vec<Staff>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Staff>("SELECT id, group_id, store_id, login, name, role, password_hash, active FROM staff WHERE store_id = $1 ORDER BY id")
            .bind(store_id).fetch_all(p).await?))
    }

    pub async fn create_api_token(
        &self,
        staff_id: Id,
        token_hash: &str,
        label: &str,
        at: DateTime<Utc>,
    ) -> Result<Id> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>(
            "INSERT INTO api_token (staff_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(staff_id).bind(token_hash).bind(label).bind(at).fetch_one(p).await?))
    }

    pub async fn staff_by_token_hash(&self, token_hash: &str) -> Result<Option<Staff>> {
        on_pool!(self, p => Ok(sqlx::query_as::<_, Staff>(
            "SELECT s.id, s.group_id, s.store_id, s.login, s.name, s.role, s.password_hash, s.active FROM api_token t \
             JOIN staff s ON s.id = t.staff_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL")
            .bind(token_hash).fetch_optional(p).await?))
    }

    /// Whether anything has been stored yet (the demo only fills an empty database).
    pub async fn is_empty(&self) -> Result<bool> {
        on_pool!(self, p => Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM dealer_group").fetch_one(p).await? == 0))
    }

    /// Row counts of the main tables, for `dealerbase demo` and health pages.
    pub async fn counts(&self) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::new();
        for t in [
            "store",
            "staff",
            "customer",
            "vehicle",
            "lead",
            "sales_order",
            "work_order",
            "work_order_line",
            "insurance_policy",
            "contact",
            "task",
        ] {
            let sql = format!("SELECT COUNT(*) FROM {t}");
            let n: i64 = on_pool!(self, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(p).await?);
            out.push((t, n));
        }
        Ok(out)
    }
}
