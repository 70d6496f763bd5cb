//! Headless Chromium over the real binary and a small demo group mined with
//! `dealerbase mine all`: a store manager opens the mining dashboard from the navigation,
//! sees its charts, goes to the target list, opens a customer and finds the scores on the
//! 360 page; a phone-sized window still shows the dashboard. Needs chromium and
//! chromium-driver like `browser.rs`.

use crate::browser::{browser, chromedriver, click, path, serve, sign_in, sign_out, text};
use fantoccini::Locator;
use std::process::Command;
use std::time::Duration;

fn dealerbase(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_dealerbase"))
        .args(args)
        .env("DEALERBASE_LOG", "error")
        .output()
        .expect("dealerbase");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_manager_reads_the_mining_dashboard_in_the_browser() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("mining.db").display());
    let today = crate::harness::TODAY;
    dealerbase(&[
        "demo",
        "--customers",
        "400",
        "--stores",
        "2",
        "--as-of",
        today,
        "--database-url",
        &url,
    ]);
    dealerbase(&["mine", "all", "--as-of", today, "--database-url", &url]);
    let (_server, base) = serve(&url);
    let (_driver, driver_url) = chromedriver().await;
    let profile = tempfile::tempdir().expect("profile");
    let c = browser(&driver_url, profile.path()).await;
    let result = async {
        sign_in(&c, &base, "s01.manager").await;
        click(&c, "nav a[href='/mining']").await;
        assert_eq!(path(&c).await, "/mining");
        assert!(text(&c, "h1").await.contains("客户数据挖掘"));
        let charts = c
            .find_all(Locator::Css("svg.chart"))
            .await
            .map_err(|e| e.to_string())?;
        assert!(charts.len() >= 10, "{} charts", charts.len());
        let kpi = text(&c, "#kpi-customers").await;
        assert!(kpi != "0" && !kpi.is_empty(), "{kpi}");
        assert!(text(&c, "#chart-segments").await.contains("RFM"));
        assert!(text(&c, "#churn-model").await.contains("AUC"));
        // The demo's SMS campaigns give the store a response table.
        let response = text(&c, "#response-table").await;
        assert!(response.contains("个月"), "{response}");
        // Five k-means clusters, each with its profile in words.
        let clusters = c
            .find_all(Locator::Css("#clusters-table tbody tr"))
            .await
            .expect("clusters");
        assert_eq!(clusters.len(), 5);
        assert!(text(&c, "#clusters-table").await.contains("消费额"));
        // The target list, highest churn risk first; open the first customer.
        click(&c, "#mining-list").await;
        assert!(path(&c).await.starts_with("/mining/customers"));
        click(&c, "#scored a.customer-link").await;
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("#score-segment"))
            .await
            .map_err(|e| e.to_string())?;
        assert!(!text(&c, "#score-segment").await.is_empty());
        assert!(text(&c, "#score-churn").await.contains('%'));
        // On a phone screen the dashboard still draws its charts in one column.
        c.set_window_size(390, 844).await.map_err(|e| e.to_string())?;
        c.goto(&format!("{base}/mining")).await.map_err(|e| e.to_string())?;
        let width: f64 = c
            .execute(
                "return document.querySelector('#chart-segments svg').getBoundingClientRect().width",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?
            .as_f64()
            .unwrap_or(0.0);
        assert!(width > 200.0 && width <= 390.0, "chart width {width}");
        // Elements reaching past the right edge (tables scroll inside their own box).
        let wide = c
            .execute(
                "const w = window.innerWidth; return Array.from(document.querySelectorAll('body *'))\
                   .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-wrap'))\
                   .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))\
                   .slice(0, 8).join(', ')",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(wide.as_str(), Some(""), "the page fits the phone's width");
        c.set_window_size(1366, 1000).await.map_err(|e| e.to_string())?;
        c.goto(&format!("{base}/today")).await.map_err(|e| e.to_string())?;
        sign_out(&c).await;
        Ok::<(), String>(())
    }
    .await;
    let _ = c.close().await;
    result.expect("browser steps");
}
