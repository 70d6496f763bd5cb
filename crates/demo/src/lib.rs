//! The demo dealer group: a realistic, seeded and deterministic data set with stores of
//! several brands, staff, customers of every class, vehicles, five years of sales, work
//! orders that follow each model's maintenance schedule, service retention that decays as
//! DOMAIN.md §3 reports (≈94% at the first service, 63% second, 42% third, 31% fourth, 18%
//! after warranty) with loyalty that differs between customers, insurance, leads through
//! the grades, defeats, complaints and survey answers.
//!
//! Generation runs on its own thread and hands batches of rows to the store's bulk loader
//! through a bounded channel, so memory stays flat whatever the number of customers.

mod aftersales;
mod data;
mod generate;
mod management;
pub mod rng;
mod sales;

use chrono::{NaiveDate, Utc};
use dealerbase_domain::model::Role;
use dealerbase_store::{Db, NewVehicleModel, StoreError};
use generate::{Generator, ModelInfo, StoreInfo};

/// Every demo account signs in with this password.
pub const DEMO_PASSWORD: &str = "demo1234";

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub customers: u64,
    pub stores: u32,
    pub seed: u64,
    /// The demo's "today": five years of history end here.
    pub as_of: NaiveDate,
    /// Customers per write transaction.
    pub batch: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database already holds data; the demo fills an empty database only")]
    NotEmpty,
    #[error(
        "--stores must be between 1 and 200 and --customers at least 1 (got {stores} stores, {customers} customers)"
    )]
    Options { stores: u32, customers: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo generator stopped unexpectedly: {0}")]
    Generator(String),
}

/// A demo account, for printing at start-up.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub login: String,
    pub role: Role,
    pub store: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub logins: Vec<DemoLogin>,
    pub counts: Vec<(&'static str, i64)>,
}

/// Fills an empty database with the demo group. `progress` is told how many customers
/// have been written so far.
pub async fn generate(
    db: &Db,
    opts: &DemoOptions,
    progress: impl Fn(u64) + Send,
) -> Result<DemoSummary, DemoError> {
    if opts.stores == 0 || opts.stores > 200 || opts.customers == 0 {
        return Err(DemoError::Options {
            stores: opts.stores,
            customers: opts.customers,
        });
    }
    if !db.is_empty().await? {
        return Err(DemoError::NotEmpty);
    }
    let now = Utc::now();
    let group_id = db.create_group("华东汽车集团", now).await?;
    let mut brand_models: Vec<(i64, Vec<ModelInfo>)> = Vec::new();
    for b in data::BRANDS {
        let brand_id = db.create_brand(b.name, b.name_en).await?;
        let mut models = Vec::new();
        for s in b.series {
            let series_id = db.create_series(brand_id, s.name).await?;
            for m in s.models {
                let (fkm, fmo, ikm, imo) = b.schedule;
                let id = db
                    .create_vehicle_model(&NewVehicleModel {
                        series_id,
                        code: m.code,
                        name: m.name,
                        price_fen: m.price_yuan * 100,
                        first_service_km: fkm,
                        first_service_months: fmo,
                        service_interval_km: ikm,
                        service_interval_months: imo,
                        warranty_months: 36,
                        warranty_km: 100_000,
                    })
                    .await?;
                models.push(ModelInfo {
                    id,
                    price_yuan: m.price_yuan,
                    wmi: b.wmi,
                    schedule: b.schedule,
                    code: m.code,
                });
            }
        }
        brand_models.push((brand_id, models));
    }

    // One hash for every demo account: argon2 is deliberately slow, and these accounts
    // share a published password anyway.
    let hash = dealerbase_service::auth::hash_password(DEMO_PASSWORD)
        .map_err(|e| DemoError::Generator(e.to_string()))?;
    let mut logins = Vec::new();
    let mut add = async |store: Option<(i64, &str)>,
                         login: String,
                         name: String,
                         role: Role|
           -> Result<i64, DemoError> {
        let id = db
            .create_staff(
                group_id,
                store.map(|s| s.0),
                &login,
                &name,
                role.code(),
                Some(&hash),
                now,
            )
            .await?;
        logins.push(DemoLogin {
            login,
            role,
            store: store.map(|s| s.1.to_string()),
        });
        Ok(id)
    };
    add(None, "admin".into(), "系统管理员".into(), Role::Admin).await?;
    add(None, "group".into(), "集团运营总监".into(), Role::Group).await?;
    let mut stores = Vec::new();
    for i in 0..opts.stores {
        let b = (i as usize) % data::BRANDS.len();
        let city =
            data::CITIES[(i as usize / data::BRANDS.len() + i as usize) % data::CITIES.len()];
        let code = format!("S{:02}", i + 1);
        let name = format!(
            "{}{}{}4S店",
            city.0,
            data::BRANDS[b].name,
            ["中心", "东区", "西区", "南区", "北区"][(i as usize / 8) % 5]
        );
        let store_id = db
            .create_store(group_id, &code, &name, city.0, brand_models[b].0, now)
            .await?;
        let s = Some((store_id, name.as_str()));
        let lc = code.to_lowercase();
        add(
            s,
            format!("{lc}.gm"),
            format!("{}总", data::SURNAMES[i as usize % 20]),
            Role::GeneralManager,
        )
        .await?;
        let manager = add(
            s,
            format!("{lc}.manager"),
            format!("{}经理", data::SURNAMES[(i as usize + 3) % 20]),
            Role::SalesManager,
        )
        .await?;
        let mut consultants = Vec::new();
        for c in 1..=6 {
            let nm = format!(
                "{}{}",
                data::SURNAMES[(i as usize * 7 + c) % data::SURNAMES.len()],
                data::GIVEN[(i as usize * 5 + c * 3) % data::GIVEN.len()]
            );
            consultants.push(add(s, format!("{lc}.sales{c}"), nm, Role::SalesConsultant).await?);
        }
        let mut advisors = Vec::new();
        for c in 1..=3 {
            let nm = format!(
                "{}{}",
                data::SURNAMES[(i as usize * 11 + c) % data::SURNAMES.len()],
                data::GIVEN[(i as usize * 13 + c) % data::GIVEN.len()]
            );
            advisors.push(add(s, format!("{lc}.advisor{c}"), nm, Role::ServiceAdvisor).await?);
        }
        let mut care = Vec::new();
        for c in 1..=2 {
            let nm = format!(
                "{}{}",
                data::SURNAMES[(i as usize * 17 + c) % data::SURNAMES.len()],
                data::GIVEN[(i as usize * 19 + c) % data::GIVEN.len()]
            );
            care.push(add(s, format!("{lc}.care{c}"), nm, Role::CareSpecialist).await?);
        }
        add(
            s,
            format!("{lc}.marketing"),
            "市场专员".into(),
            Role::Marketing,
        )
        .await?;
        stores.push(StoreInfo {
            id: store_id,
            code,
            brand: b,
            city: city_index(city.0),
            manager,
            consultants,
            advisors,
            care,
        });
    }

    let generator = Generator::new(
        opts.clone(),
        stores,
        brand_models.into_iter().map(|(_, m)| m).collect(),
        db.name_grams_column(),
    );
    let recreate = db.before_bulk_load(generate::TABLES).await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(3);
    let handle = std::thread::spawn(move || generator.run(tx));
    let mut done = 0;
    while let Some((n, batch)) = rx.recv().await {
        db.bulk_insert(&batch).await?;
        done += n;
        progress(done);
    }
    handle
        .join()
        .map_err(|_| DemoError::Generator("generator thread panicked".into()))?;
    db.after_bulk_load(generate::TABLES, &recreate).await?;
    aftersales::seed(db, opts.as_of).await?;
    sales::enrich(db, opts.seed, opts.as_of).await?;
    management::seed(db, opts.as_of).await?;
    Ok(DemoSummary {
        logins,
        counts: db.counts().await?,
    })
}

fn city_index(name: &str) -> usize {
    data::CITIES.iter().position(|c| c.0 == name).unwrap_or(0)
}
