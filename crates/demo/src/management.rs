//! Management data of the demo group (issue 9): each store's monthly operating costs for
//! the 13 months up to `as_of` — sized from the store's own after-sales gross profit so the
//! service absorption lands between about 55% and 115% depending on the store — and the
//! sales and after-sales revenue targets of this month and the last, split from the group
//! to the stores in proportion to last year and from each store to its staff.

use crate::DemoError;
use chrono::{Datelike, Months, NaiveDate};
use dealerbase_domain::FixedClock;
use dealerbase_service::management::SplitInput;
use dealerbase_service::{Actor, Services};
use dealerbase_store::Db;
use dealerbase_store::kpi::{KpiBy, KpiSelect};
use dealerbase_store::management::CostRow;
use std::sync::Arc;

pub(crate) async fn seed(db: &Db, as_of: NaiveDate) -> Result<(), DemoError> {
    let clock = FixedClock::on(as_of);
    let svc = Services::new(db.clone(), Arc::new(clock));
    let now = dealerbase_domain::Clock::now(&clock);
    let err = |e: dealerbase_service::ServiceError| DemoError::Generator(e.to_string());
    let Some(admin) = db.staff_by_login("admin").await? else {
        return Ok(());
    };
    let admin = Actor::from_staff(&admin).map_err(err)?;
    let this_month = NaiveDate::from_ymd_opt(as_of.year(), as_of.month(), 1).unwrap_or(as_of);
    let first = this_month
        .checked_sub_months(Months::new(12))
        .unwrap_or(this_month);
    let until = this_month
        .checked_add_months(Months::new(1))
        .unwrap_or(this_month);
    let stores = db.stores().await?;
    let mut rows = Vec::new();
    for (i, s) in stores.iter().enumerate() {
        let sel = KpiSelect {
            from: first,
            until,
            stores: vec![s.id],
            staff: None,
            through: None,
        };
        let profit = db
            .kpi_sums("aftersales_gross_profit", &sel, KpiBy::Month)
            .await?;
        // Absorption target of the store: 55% … 115% in steps over the stores.
        let absorption = 0.55 + (i % 7) as f64 * 0.1;
        let mut m = first;
        while m < until {
            let key = (m.year() * 100 + m.month() as i32) as i64;
            let gp = profit.iter().find(|p| p.key == key).map_or(0, |p| p.num);
            // A month without work orders still pays the rent.
            let total = ((gp as f64 / absorption) as i64).max(5_000_000);
            for (category, kind, share) in [
                ("房租", "fixed", 0.30),
                ("人工", "fixed", 0.45),
                ("水电", "variable", 0.10),
                ("市场推广", "variable", 0.15),
            ] {
                rows.push(CostRow {
                    store_id: s.id,
                    month_start: m,
                    category: category.into(),
                    kind: kind.into(),
                    amount_fen: (total as f64 * share) as i64,
                });
            }
            m = match m.checked_add_months(Months::new(1)) {
                Some(x) => x,
                None => break,
            };
        }
    }
    db.upsert_operating_costs(&rows, admin.staff_id, now)
        .await?;
    // Targets: last year's same month plus 10%, split to stores, then to staff.
    for back in [1u32, 0] {
        let Some(month) = this_month.checked_sub_months(Months::new(back)) else {
            continue;
        };
        let label = month.format("%Y-%m").to_string();
        for (metric, kpi) in [("sales", "orders"), ("service_revenue", "service_revenue")] {
            let last_year = month.checked_sub_months(Months::new(12)).unwrap_or(month);
            let sel = KpiSelect {
                from: last_year,
                until: last_year
                    .checked_add_months(Months::new(1))
                    .unwrap_or(last_year),
                stores: stores.iter().map(|s| s.id).collect(),
                staff: None,
                through: None,
            };
            let base: i64 = db
                .kpi_sums(kpi, &sel, KpiBy::Total)
                .await?
                .iter()
                .map(|s| s.num)
                .sum();
            let total = (base as f64 * 1.1).round() as i64 + stores.len() as i64;
            let total = if metric == "service_revenue" {
                format!("{}.{:02}", total / 100, total % 100)
            } else {
                total.to_string()
            };
            let v = svc
                .split_target(
                    &admin,
                    &SplitInput {
                        month: label.clone(),
                        metric: metric.into(),
                        store: None,
                        total,
                        method: "last_year".into(),
                    },
                )
                .await
                .map_err(err)?;
            for r in v.rows {
                let total = if metric == "service_revenue" {
                    format!("{}.{:02}", r.target / 100, r.target % 100)
                } else {
                    r.target.to_string()
                };
                svc.split_target(
                    &admin,
                    &SplitInput {
                        month: label.clone(),
                        metric: metric.into(),
                        store: Some(r.store_code.clone()),
                        total,
                        method: "last_year".into(),
                    },
                )
                .await
                .map_err(err)?;
            }
        }
    }
    // The KPI day facts the nightly job keeps, so the dashboards read them from the start.
    svc.rebuild_kpi_facts().await.map_err(err)?;
    Ok(())
}
