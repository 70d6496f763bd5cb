//! `dealerbase bench --scenario sales`: latency of the sales analytics (the funnel and KPI
//! page with its breakdown, defeat reasons and forecast) and the showroom traffic
//! statistics on an existing database (usually the demo group), through the same services
//! the pages and the API call. Each sample takes another store, period or breakdown.

use crate::bench::Report;
use anyhow::{Context, Result, anyhow};
use chrono::Duration as Days;
use dealerbase_domain::Lang;
use dealerbase_service::sales::PeriodQuery;
use dealerbase_service::{Actor, Services};
use std::time::{Duration, Instant};

fn report(name: &'static str, mut t: Vec<Duration>) -> Report {
    t.sort();
    let at = |q: f64| t[((t.len() as f64 * q).ceil() as usize).clamp(1, t.len()) - 1];
    Report {
        name,
        samples: t.len(),
        p50: at(0.5),
        p95: at(0.95),
        max: t[t.len() - 1],
    }
}

async fn actor(svc: &Services, login: &str) -> Result<Actor> {
    let s = svc.db.staff_by_login(login).await?.with_context(|| {
        format!("the sales benchmark signs in as `{login}`: run it on the demo group")
    })?;
    Actor::from_staff(&s).map_err(|e| anyhow!("{e}"))
}

pub async fn run(svc: &Services, samples: u32) -> Result<Vec<Report>> {
    let admin = actor(svc, "admin").await?;
    let stores = svc.db.stores().await?;
    let today = svc.clock.today();
    let q = |days: i64, by: &str, store: Option<i64>| PeriodQuery {
        from: Some((today - Days::days(days - 1)).to_string()),
        to: Some(today.to_string()),
        store_id: store,
        by: Some(by.into()),
        ..Default::default()
    };
    // Warm-up: the first call computes each store's close rates for the forecast (the
    // daily job does this every night) and fills the database's page cache.
    eprintln!(
        "{} stores; warming up (close rates for the forecast) …",
        stores.len()
    );
    svc.sales_analytics(&admin, &q(90, "store", None), Lang::Zh)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    // The funnel facts as the nightly job leaves them (a database from before they existed
    // has none yet).
    if svc.db.sales_facts_built_until().await? != Some(today) {
        let t = Instant::now();
        let rows = svc
            .rebuild_sales_facts()
            .await
            .map_err(|e| anyhow!("{e}"))?;
        eprintln!(
            "funnel facts rebuilt: {rows} rows in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let n = samples.clamp(5, 200) as usize;
    let by = ["store", "source", "model", "consultant"];
    let periods = [30, 90, 7, 60];
    let (mut group, mut store, mut consultant, mut traffic) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let t = Instant::now();
        let a = svc
            .sales_analytics(&admin, &q(periods[i % 4], by[i % 4], None), Lang::Zh)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        group.push(t.elapsed());
        if i == 0 {
            eprintln!(
                "group, {} days: {} traffic, {} new leads, {} orders, {} deliveries; forecast {:.1} orders",
                periods[0],
                a.total.counts.traffic,
                a.total.counts.new_leads,
                a.total.counts.orders,
                a.total.counts.deliveries,
                a.forecast.expected_orders
            );
        }
        let s = &stores[i % stores.len()];
        let manager = actor(svc, &format!("{}.manager", s.code.to_lowercase())).await?;
        let t = Instant::now();
        svc.sales_analytics(&manager, &q(periods[i % 4], "consultant", None), Lang::Zh)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        store.push(t.elapsed());
        let sales = actor(
            svc,
            &format!("{}.sales{}", s.code.to_lowercase(), 1 + i % 6),
        )
        .await?;
        let t = Instant::now();
        svc.sales_analytics(&sales, &q(30, "source", None), Lang::Zh)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        consultant.push(t.elapsed());
        let t = Instant::now();
        svc.traffic_stats(&admin, &q(periods[i % 4], "store", None), Lang::Zh)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        traffic.push(t.elapsed());
    }
    Ok(vec![
        report(
            "sales analytics, group (funnel, KPIs, breakdown, forecast)",
            group,
        ),
        report("sales analytics, one store by consultant", store),
        report("sales analytics, one consultant", consultant),
        report("showroom traffic statistics, group", traffic),
    ])
}
