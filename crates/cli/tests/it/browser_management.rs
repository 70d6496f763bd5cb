//! Headless Chromium drives the real binary over the demo group: a group user opens the
//! management dashboard, drills from the group's renewal rate into one store and into that
//! store's non-renewed policies, and downloads the monthly report.

use crate::browser::{browser, chromedriver, click, fill, path, serve, sign_in, text};
use dealerbase_domain::FixedClock;
use dealerbase_service::management::KpiQuery;
use dealerbase_service::{Actor, Services};
use dealerbase_store::Db;
use fantoccini::{Client, Locator};
use std::process::Command;
use std::sync::Arc;

const MONTH: &str = "2026-10";

/// A store of the demo whose October renewal rate has policies that were not renewed,
/// with the group's (numerator, denominator).
async fn store_with_misses(url: &str) -> (String, (i64, i64)) {
    let db = Db::open(url).await.expect("open demo db");
    let svc = Services::new(
        db.clone(),
        Arc::new(FixedClock::on(crate::harness::today())),
    );
    let s = db
        .staff_by_login("group")
        .await
        .expect("staff")
        .expect("group");
    let group = Actor::from_staff(&s).expect("actor");
    let q = |scope: &str, store: Option<String>| KpiQuery {
        kpi: "renewal_rate".into(),
        period: Some("month".into()),
        at: Some(MONTH.into()),
        scope: Some(scope.into()),
        store,
        ..Default::default()
    };
    let g = svc
        .kpi_value(&group, &q("group", None))
        .await
        .expect("group value");
    let mut pick = None;
    for st in svc.kpi_stores(&group).await.expect("stores") {
        let v = svc
            .kpi_value(&group, &q("store", Some(st.code.clone())))
            .await
            .expect("store value");
        if v.current.denominator > v.current.numerator {
            pick = Some(st.code);
            break;
        }
    }
    db.close().await;
    (
        pick.expect("a demo store with policies not renewed in October"),
        (g.current.numerator, g.current.denominator),
    )
}

#[tokio::test]
async fn a_group_user_drills_from_the_renewal_rate_to_non_renewed_policies() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("mgmt.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_dealerbase"))
        .args([
            "demo",
            "--customers",
            "600",
            "--stores",
            "3",
            "--as-of",
            crate::harness::TODAY,
            "--database-url",
            &url,
        ])
        .env("DEALERBASE_LOG", "error")
        .output()
        .expect("demo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (store, group_value) = store_with_misses(&url).await;
    let (_server, base) = serve(&url);
    let (_driver, driver_url) = chromedriver().await;
    let profile = tempfile::tempdir().expect("profile");
    let c = browser(&driver_url, profile.path()).await;
    let result = run(&c, &base, &store, group_value).await;
    let _ = c.close().await;
    result.expect("browser steps");
}

async fn run(c: &Client, base: &str, store: &str, group: (i64, i64)) -> Result<(), String> {
    let e = |e: fantoccini::error::CmdError| e.to_string();
    sign_in(c, base, "group").await;
    // The dashboard from the navigation; October through the filter.
    click(c, "nav a[href='/management/dashboard']").await;
    fill(c, "#f-at", MONTH).await;
    click(c, "#kpi-filter button[type=submit]").await;
    let scope = text(c, "#dash-scope").await;
    assert!(scope.contains("集团"), "{scope}");
    let charts = c.find_all(Locator::Css("svg.chart")).await.map_err(e)?;
    assert!(charts.len() >= 3, "{} charts", charts.len());
    // The group's renewal rate → its KPI page, with the group's numerator and denominator.
    click(c, "#tile-renewal_rate").await;
    let value = text(c, "#kpi-value").await;
    assert!(
        value.contains(&format!("{} / {}", group.0, group.1)),
        "{value} vs {group:?}"
    );
    assert!(path(c).await.starts_with("/management/kpis/renewal_rate"));
    // Into the store, from the store ranking.
    click(c, &format!("#ranking a.drill[href*='store={store}']")).await;
    let p = path(c).await;
    assert!(p.contains(&format!("store={store}")), "{p}");
    // The policies of its October renewal rate that were not renewed.
    click(c, "#which-miss").await;
    text(c, "#record-list").await;
    let hits = c
        .find_all(Locator::Css("#record-list td.hit"))
        .await
        .map_err(e)?;
    assert!(!hits.is_empty(), "no non-renewed policies listed");
    for h in hits {
        assert_eq!(h.text().await.map_err(e)?, "否");
    }
    // Back on the dashboard: the monthly report, downloaded with the browser's session.
    c.goto(&format!(
        "{base}/management/dashboard?period=month&at={MONTH}"
    ))
    .await
    .map_err(e)?;
    let href = c
        .find(Locator::Css("#report-xlsx"))
        .await
        .map_err(e)?
        .attr("href")
        .await
        .map_err(e)?
        .ok_or("no report link")?;
    let cookie = c
        .get_named_cookie("dbsid")
        .await
        .map_err(e)?
        .value()
        .to_string();
    let resp = reqwest::Client::new()
        .get(format!("{base}{href}"))
        .header("cookie", format!("dbsid={cookie}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap_or("")
        .to_string();
    assert!(
        disposition.contains("management-report-2026-10.xlsx"),
        "{disposition}"
    );
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    assert_eq!(&bytes[..2], b"PK", "an XLSX (zip) file");
    // The printable report page.
    click(c, "#report-link").await;
    assert!(text(c, "#report-title").await.contains(MONTH));
    Ok(())
}
