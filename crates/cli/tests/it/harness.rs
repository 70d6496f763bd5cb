//! Fresh databases, a seeded group, actors, and the server on port 0.

use chrono::NaiveDate;
use dealerbase_domain::FixedClock;
use dealerbase_domain::model::Role;
use dealerbase_service::{Actor, Services};
use dealerbase_store::{Db, Id, NewVehicleModel};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub const TODAY: &str = "2026-11-23";

pub fn today() -> NaiveDate {
    TODAY.parse().expect("date")
}

pub struct TestDb {
    pub db: Db,
    /// The database's URL (for tests that run the binary on it).
    pub url: String,
    drop_pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Db::open(&url).await.expect("open sqlite");
        TestDb {
            db,
            url,
            drop_pg: None,
            _dir: Some(dir),
        }
    }

    pub async fn postgres() -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let admin = std::env::var("DEALERBASE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!(
            "dbtest_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let admin_db = Db::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} is needed for the PostgreSQL half of the store tests ({e}); `bash .ci/run` sets it up")
        });
        admin_db
            .execute_admin(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        admin_db.close().await;
        let (base, _) = admin
            .rsplit_once('/')
            .expect("postgres URL with a database");
        let url = format!("{base}/{name}");
        let db = Db::open(&url).await.expect("open postgres");
        TestDb {
            db,
            url,
            drop_pg: Some((admin, name)),
            _dir: None,
        }
    }

    pub async fn finish(self) {
        self.db.close().await;
        if let Some((admin, name)) = &self.drop_pg
            && let Ok(a) = Db::connect(admin).await
        {
            let _ = a
                .execute_admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            a.close().await;
        }
    }
}

/// One test body, run once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let t = $crate::harness::TestDb::sqlite().await;
                super::$name(&t).await;
                t.finish().await;
            }
            #[tokio::test]
            async fn postgres() {
                let t = $crate::harness::TestDb::postgres().await;
                super::$name(&t).await;
                t.finish().await;
            }
        }
    };
}

/// A small dealer group: two stores, staff of several roles, a model catalogue.
pub struct Fixture {
    pub svc: Services,
    pub store1: Id,
    pub store2: Id,
    pub model: Id,
    pub admin: Actor,
    pub group_staff: Actor,
    pub manager1: Actor,
    pub consultant_a: Actor,
    pub consultant_b: Actor,
    pub advisor1: Actor,
    pub consultant_store2: Actor,
}

pub async fn fixture(db: &Db) -> Fixture {
    let svc = Services::new(db.clone(), Arc::new(FixedClock::on(today())));
    let now = svc.clock.now();
    let group = db.create_group("测试集团", now).await.expect("group");
    let brand = db.create_brand("一汽-大众", "FAW-VW").await.expect("brand");
    let other_brand = db
        .create_brand("广汽丰田", "GAC Toyota")
        .await
        .expect("brand");
    let series = db.create_series(brand, "速腾").await.expect("series");
    let model = db
        .create_vehicle_model(&NewVehicleModel {
            series_id: series,
            code: "FV-SAG",
            name: "速腾 200TSI",
            price_fen: 13_990_000,
            first_service_km: 7500,
            first_service_months: 6,
            service_interval_km: 10000,
            service_interval_months: 12,
            warranty_months: 36,
            warranty_km: 100_000,
        })
        .await
        .expect("model");
    let store1 = db
        .create_store(group, "S01", "杭州一汽-大众4S店", "杭州", brand, now)
        .await
        .expect("store");
    let store2 = db
        .create_store(group, "S02", "上海广汽丰田4S店", "上海", other_brand, now)
        .await
        .expect("store");
    let mk = async |store: Option<Id>, login: &str, role: Role| -> Actor {
        let id = svc
            .add_user(group, store, login, login, role, "password123")
            .await
            .expect("user");
        Actor::from_staff(&db.staff(id).await.expect("staff")).expect("actor")
    };
    Fixture {
        admin: mk(None, "admin", Role::Admin).await,
        group_staff: mk(None, "group", Role::Group).await,
        manager1: mk(Some(store1), "s01.manager", Role::SalesManager).await,
        consultant_a: mk(Some(store1), "s01.a", Role::SalesConsultant).await,
        consultant_b: mk(Some(store1), "s01.b", Role::SalesConsultant).await,
        advisor1: mk(Some(store1), "s01.advisor", Role::ServiceAdvisor).await,
        consultant_store2: mk(Some(store2), "s02.a", Role::SalesConsultant).await,
        svc,
        store1,
        store2,
        model,
    }
}

/// Valid VINs for tests: the check digit is computed.
pub fn vin(serial: u32) -> String {
    let mut v: Vec<u8> = format!("LFV2A21K0P4{serial:06}").into_bytes();
    let c = dealerbase_domain::vin::check_digit(&v).expect("check digit");
    v[8] = c as u8;
    String::from_utf8(v).expect("ascii")
}
