//! Headless Chromium drives the real binary over the demo group: a care specialist works
//! the insurance renewal list (unreachable → retried, then declined), fills a follow-up
//! questionnaire with low scores and sees the complaint it opened on the complaint board.
//! Also takes the README's screenshot of the call list.

use crate::browser::{browser, chromedriver, click, path, serve, sign_in, text};
use dealerbase_domain::FixedClock;
use dealerbase_service::aftersales::CallQuery;
use dealerbase_service::{Actor, Services};
use dealerbase_store::Db;
use fantoccini::{Client, Locator};
use std::process::Command;
use std::sync::Arc;

struct Targets {
    renewal_task: i64,
    follow_up_task: i64,
    follow_up_kind: String,
}

async fn find_targets(url: &str) -> Targets {
    let db = Db::open(url).await.expect("open demo db");
    let svc = Services::new(
        db.clone(),
        Arc::new(FixedClock::on(crate::harness::today())),
    );
    let s = db
        .staff_by_login("s01.care1")
        .await
        .expect("staff")
        .expect("s01.care1");
    let care = Actor::from_staff(&s).expect("actor");
    let renewals = svc
        .call_list(
            &care,
            &CallQuery {
                kind: Some("insurance_renewal".into()),
                ..Default::default()
            },
        )
        .await
        .expect("renewal calls");
    let all = svc
        .call_list(
            &care,
            &CallQuery {
                ahead_days: Some(30),
                ..Default::default()
            },
        )
        .await
        .expect("calls");
    let follow = all
        .iter()
        .find(|c| c.kind.ends_with("_follow_up"))
        .expect("a follow-up call for s01.care1 in the demo");
    let t = Targets {
        renewal_task: renewals
            .first()
            .expect("a renewal call for s01.care1 in the demo")
            .task_id,
        follow_up_task: follow.task_id,
        follow_up_kind: follow.kind.clone(),
    };
    db.close().await;
    t
}

#[tokio::test]
async fn a_care_specialist_works_the_renewal_list_and_a_follow_up_call() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("aftersales.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_dealerbase"))
        .args([
            "demo",
            "--customers",
            "400",
            "--stores",
            "2",
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
    let t = find_targets(&url).await;
    let (_server, base) = serve(&url);
    let (_driver, driver_url) = chromedriver().await;
    let profile = tempfile::tempdir().expect("profile");
    let c = browser(&driver_url, profile.path()).await;
    let result = run(&c, &base, &t).await;
    let _ = c.close().await;
    result.expect("browser steps");
}

async fn run(c: &Client, base: &str, t: &Targets) -> Result<(), String> {
    let e = |e: fantoccini::error::CmdError| e.to_string();
    sign_in(c, base, "s01.care1").await;
    // The renewal list, from the navigation.
    click(c, "nav a[href='/aftersales/renewals']").await;
    assert!(text(c, "h1").await.contains("续保名单"));
    click(c, "#within-60").await;
    let task = t.renewal_task;
    // Unreachable: recorded, the call stays on the list for the next working day.
    click(c, &format!("#o-unreachable-{task}")).await;
    let note = text(c, "#done-note").await;
    assert!(note.contains(&task.to_string()), "{note}");
    assert!(path(c).await.starts_with("/aftersales/renewals"));
    // Reached and declined: the call is done and leaves the list.
    click(c, &format!("#o-declined-{task}")).await;
    text(c, "#done-note").await;
    assert!(
        c.find(Locator::Css(&format!("#outcome-{task}")))
            .await
            .is_err(),
        "declined call still offered"
    );
    // The call list, with the follow-up call; the screenshot for the README.
    c.goto(&format!(
        "{base}/aftersales/calls?kind={}&ahead=30",
        t.follow_up_kind
    ))
    .await
    .map_err(e)?;
    text(c, "#calls").await;
    let png = c.screenshot().await.map_err(e)?;
    let shot = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/screenshots/aftersales-calls.png"
    );
    std::fs::write(shot, &png).map_err(|e| e.to_string())?;
    click(c, &format!("#call-{}", t.follow_up_task)).await;
    text(c, "#questionnaire").await;
    // The lowest answer to every question (answers are listed best first).
    let questions = c
        .find_all(Locator::Css("fieldset.question"))
        .await
        .map_err(e)?;
    assert!(!questions.is_empty());
    for q in questions {
        let options = q
            .find_all(Locator::Css("input[type=radio]"))
            .await
            .map_err(e)?;
        options
            .last()
            .ok_or("no options")?
            .click()
            .await
            .map_err(e)?;
    }
    c.find(Locator::Css("#comment"))
        .await
        .map_err(e)?
        .send_keys("等了很久，没人解释")
        .await
        .map_err(e)?;
    click(c, "#submit-call").await;
    // The complaint it opened.
    let notice = text(c, "#opened-by-call").await;
    assert!(notice.contains("自动登记为投诉"), "{notice}");
    assert!(text(c, "#complaint-channel").await.contains("回访发现"));
    assert!(text(c, "#complaint-description").await.contains("等了很久"));
    let id = text(c, "#complaint-id").await;
    // … and on the complaint board.
    click(c, "nav a[href='/aftersales/complaints']").await;
    let board = text(c, "#complaints").await;
    assert!(board.contains(&id), "{board}");
    // The KPI page draws its charts.
    c.goto(&format!("{base}/aftersales/kpi")).await.map_err(e)?;
    text(c, "#kpis").await;
    let charts = c.find_all(Locator::Css("svg.chart")).await.map_err(e)?;
    assert!(charts.len() >= 6, "{} charts", charts.len());
    Ok(())
}
