//! Headless Chromium on a phone-sized window drives the real `dealerbase` binary over the
//! demo group: a consultant registers a walk-in graded H, logs a follow-up, books and
//! completes a test drive, takes an order, delivers it and sees the D+3 call on the today
//! page; then requests a defeat on another lead, which the manager approves.

use crate::browser::{browser, chromedriver, click, fill, path, serve, sign_in, sign_out, text};
use dealerbase_domain::SystemClock;
use fantoccini::{Client, Locator};
use std::process::Command;
use std::time::Duration;

/// Signs out on a phone: the account links are behind the menu button.
async fn phone_sign_out(c: &Client) {
    click(c, ".nav-toggle-label").await;
    sign_out(c).await;
}

async fn click_xpath(c: &Client, xpath: &str) {
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .expect("click");
}

/// Clicks the visible tile of a segmented radio choice (the input itself is hidden).
async fn choose(c: &Client, input_id: &str) {
    click_xpath(
        c,
        &format!("//input[@id='{input_id}']/following-sibling::span"),
    )
    .await;
}

#[tokio::test]
async fn a_sale_on_the_phone() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("sales.db").display());
    let today = SystemClock.today_string();
    let out = Command::new(env!("CARGO_BIN_EXE_dealerbase"))
        .args([
            "demo",
            "--customers",
            "300",
            "--stores",
            "2",
            "--as-of",
            &today,
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
    let (_server, base) = serve(&url);
    let (_driver, driver_url) = chromedriver().await;
    let profile = tempfile::tempdir().expect("profile");
    let c = browser(&driver_url, profile.path()).await;
    let result = run(&c, &base).await;
    let _ = c.close().await;
    result.expect("browser steps");
}

trait TodayString {
    fn today_string(&self) -> String;
}

impl TodayString for SystemClock {
    fn today_string(&self) -> String {
        use dealerbase_domain::Clock;
        self.today().to_string()
    }
}

async fn run(c: &Client, base: &str) -> Result<(), String> {
    let e = |e: fantoccini::error::CmdError| e.to_string();
    // A phone: 390 × 844 CSS pixels.
    c.set_window_size(390, 844).await.map_err(e)?;
    sign_in(c, base, "s01.sales1").await;

    // The walk-in: walk-in is preselected, party of 2, a model, grade H, name and mobile.
    c.goto(&format!("{base}/showroom")).await.map_err(e)?;
    assert!(text(c, "h1").await.contains("来店(电)登记"));
    choose(c, "v-party-2").await;
    click(c, "#v-model option:nth-of-type(2)").await;
    choose(c, "v-grade-H").await;
    fill(c, "#v-name", "林冲").await;
    fill(c, "#v-mobile", "198 1234 5678").await;
    click(c, "#log-visit").await;
    text(c, "#lead-created").await;
    let lead_path = path(c).await;
    assert!(lead_path.starts_with("/leads/"), "{lead_path}");
    assert!(text(c, "#lead-grade").await.contains('H'));
    assert!(text(c, "#lead-title").await.contains("林冲"));

    // A follow-up call: still H, with a note.
    fill(c, "#c-note", "电话回访周六来试驾").await;
    click(c, "#save-contact").await;
    let contacts = text(c, "#contacts").await;
    assert!(contacts.contains("电话回访周六来试驾"), "{contacts}");

    // Book and complete a test drive.
    click(c, "#book-test-drive").await;
    click(c, ".td-done").await;
    let td = text(c, "#test-drives").await;
    assert!(td.contains("已试驾"), "{td}");

    // Take an order with a deposit; the lead becomes O.
    fill(c, "#o-deposit", "5000").await;
    click(c, "#take-order").await;
    assert!(text(c, "#lead-status").await.contains("已订车"));
    assert!(text(c, "#lead-grade").await.contains('O'));

    // Deliver it: a wrong VIN is refused with the reason, then the right one.
    fill(c, "#d-vin", "LATPAB071W1005302").await;
    click(c, "#deliver-order").await;
    let err = text(c, "#deliver .field-error").await;
    assert!(err.contains("校验码"), "{err}");
    fill(c, "#d-vin", &crate::harness::vin(424242)).await;
    click(c, "#deliver-order").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//span[@id='lead-status' and contains(., '已交车')]",
        ))
        .await
        .map_err(e)?;

    // The D+3 call is on the consultant's today page.
    c.goto(&format!("{base}/today")).await.map_err(e)?;
    let upcoming = text(c, "#today-upcoming").await;
    assert!(
        upcoming.contains("交车回访") && upcoming.contains("林冲"),
        "{upcoming}"
    );

    // A defeat requested on another lead: a second walk-in, graded C.
    c.goto(&format!("{base}/showroom")).await.map_err(e)?;
    click(c, "#v-model option:nth-of-type(2)").await;
    choose(c, "v-grade-C").await;
    fill(c, "#v-name", "鲁智深").await;
    fill(c, "#v-mobile", "19812345679").await;
    click(c, "#log-visit").await;
    text(c, "#lead-created").await;
    let other_lead: i64 = path(c)
        .await
        .trim_start_matches("/leads/")
        .split('?')
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("lead id in the path")?;
    click(c, "#defeat summary").await;
    click(c, "#df-reason option[value='competitor_brand']").await;
    fill(c, "#df-brand", "比亚迪").await;
    click(c, "#request-defeat").await;
    // The model is missing: refused, what was typed is kept.
    let err = text(c, "#defeat .field-error").await;
    assert!(err.contains("竞品车型"), "{err}");
    fill(c, "#df-model", "秦PLUS").await;
    click(c, "#request-defeat").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath(
            "//span[@id='lead-status' and contains(., '战败待审')]",
        ))
        .await
        .map_err(e)?;
    // The daily report: today's figures, tomorrow's plan, submitted.
    c.goto(&format!("{base}/reports/daily")).await.map_err(e)?;
    fill(c, "#r-plan", "明天回访林冲").await;
    click(c, "#submit-report").await;
    let state = text(c, "#report-state").await;
    assert!(state.contains("已提交"), "{state}");
    phone_sign_out(c).await;

    // The manager sees it waiting on the today page and approves it.
    sign_in(c, base, "s01.manager").await;
    c.goto(&format!("{base}/today")).await.map_err(e)?;
    assert!(
        text(c, "#today-defeats").await.contains("比亚迪")
            || text(c, "#today-defeats").await.contains("购买竞品")
    );
    click(c, "#go-defeats").await;
    click_xpath(
        c,
        &format!(
            "//section[.//a[@href='/leads/{other_lead}']]//button[starts-with(@id, 'approve-')]"
        ),
    )
    .await;
    // Back on the queue, the request is gone.
    let gone = format!("//section[.//a[@href='/leads/{other_lead}']]");
    let mut waited = 0;
    while path(c).await != "/defeats" || c.find(Locator::XPath(&gone)).await.is_ok() {
        assert!(waited < 100, "the approved request left the queue");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    c.goto(&format!("{base}/leads/{other_lead}"))
        .await
        .map_err(e)?;
    assert!(text(c, "#lead-status").await.contains("已战败"));
    // The manager's pages: the analytics with the funnel, traffic statistics, the
    // consultant's report to sign, the store's settings.
    c.goto(&format!("{base}/sales/analytics"))
        .await
        .map_err(e)?;
    assert!(text(c, "h1").await.contains("销售分析"));
    assert!(!text(c, "#kpi-conversion").await.is_empty());
    assert!(text(c, "#forecast").await.contains("采用的成交率"));
    c.goto(&format!("{base}/sales/analytics?by=source&from=2026-01-01"))
        .await
        .map_err(e)?;
    text(c, "#breakdown").await;
    c.goto(&format!("{base}/showroom/stats")).await.map_err(e)?;
    assert!(text(c, "#registration-rate").await.contains('%'));
    c.goto(&format!("{base}/reports/daily")).await.map_err(e)?;
    click_xpath(c, "//table//tr[td[contains(., '李敏')]]//a").await;
    fill(c, "#s-comment", "好").await;
    click(c, "#sign-report").await;
    assert!(text(c, "#report-state").await.contains("已签核"));
    c.goto(&format!("{base}/settings/sales")).await.map_err(e)?;
    fill(c, "#s-pool_after_days", "1").await;
    click(c, "#save-settings").await;
    assert!(text(c, "#err-pool_after_days").await.contains("3"));
    phone_sign_out(c).await;
    Ok(())
}
