//! `dealerbase bench --scenario management`: latency of the group's management dashboard
//! for a month (KPI tiles with MoM and YoY, two 12-month trends, the store ranking, service
//! absorption, the month's target), of one store's general-manager dashboard and of the
//! group's monthly report, on an existing database (usually the demo group), through the
//! same services the pages and the API call. Each sample takes another of the last 12 months.
//! Builds the KPI day facts first if the nightly job has not (writes them: run on a copy).

use crate::bench::Report;
use anyhow::{Context, Result, anyhow};
use chrono::{Datelike, Months, NaiveDate};
use dealerbase_service::management::KpiQuery;
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
        format!("the management benchmark signs in as `{login}`: run it on the demo group")
    })?;
    Actor::from_staff(&s).map_err(|e| anyhow!("{e}"))
}

pub async fn run(svc: &Services, samples: u32) -> Result<Vec<Report>> {
    let admin = actor(svc, "admin").await?;
    let stores = svc.db.stores().await?;
    let today = svc.clock.today();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let month = |i: usize| {
        this_month
            .checked_sub_months(Months::new((i % 12) as u32))
            .unwrap_or(this_month)
            .format("%Y-%m")
            .to_string()
    };
    let q = |at: String, store: Option<String>| KpiQuery {
        period: Some("month".into()),
        at: Some(at),
        scope: Some(if store.is_some() { "store" } else { "group" }.into()),
        store,
        ..Default::default()
    };
    // The KPI day facts as the nightly job leaves them (a database from before they existed
    // has none yet).
    if svc.db.kpi_facts_built_until().await? != Some(today) {
        let t = Instant::now();
        let rows = svc.rebuild_kpi_facts().await.map_err(|e| anyhow!("{e}"))?;
        eprintln!(
            "KPI day facts rebuilt: {rows} rows in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    eprintln!("{} stores; warming up …", stores.len());
    let d = svc
        .management_dashboard(&admin, &q(month(1), None), None)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    eprintln!(
        "group, {}: {}",
        d.period,
        d.tiles
            .iter()
            .map(|t| format!("{} {}", t.kpi, t.current.display))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let n = samples.clamp(5, 200) as usize;
    let (mut group, mut store, mut report_t) = (vec![], vec![], vec![]);
    for i in 0..n {
        let t = Instant::now();
        svc.management_dashboard(&admin, &q(month(i), None), None)
            .await
            .map_err(|e| anyhow!("{e}"))?;
        group.push(t.elapsed());
        let s = &stores[i % stores.len()];
        let gm = actor(svc, &format!("{}.gm", s.code.to_lowercase()))
            .await
            .unwrap_or_else(|_| admin.clone());
        let t = Instant::now();
        svc.management_dashboard(
            &gm,
            &q(month(i), Some(s.code.clone())),
            Some("general_manager"),
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
        store.push(t.elapsed());
        if i < 10 {
            let t = Instant::now();
            svc.monthly_report(&admin, &q(month(i), None))
                .await
                .map_err(|e| anyhow!("{e}"))?;
            report_t.push(t.elapsed());
        }
    }
    Ok(vec![
        report("management dashboard, group, one month", group),
        report("management dashboard, one store (general manager)", store),
        report("monthly management report, group", report_t),
    ])
}
