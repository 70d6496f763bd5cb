//! Headless Chromium drives the real `dealerbase` binary over the demo dealer group:
//! sign in, search by plate, the customer 360 page, a validation error in Chinese and
//! then in English, another consultant's customer and lead refused by URL and API, an
//! audited reveal, the audit log, sign out. Also takes the README screenshot.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium
//! chromium-driver fonts-noto-cjk`); `.ci/run` installs them.

use dealerbase_domain::SystemClock;
use dealerbase_service::records::{CustomerQuery, LeadQuery};
use dealerbase_service::{Actor, Services};
use dealerbase_store::Db;
use fantoccini::{Client, ClientBuilder, Locator};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Kills a child process when the test ends, however it ends.
pub(crate) struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Starts `dealerbase serve` on port 0 and reads the address it prints.
pub(crate) fn serve(url: &str) -> (Kill, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dealerbase"))
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", url])
        .env("DEALERBASE_LOG", "warn")
        .env_remove("DEALERBASE_ADMIN_LOGIN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dealerbase serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("serving on ").nth(1) {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("dealerbase printed its address");
    (Kill(child), base)
}

pub(crate) async fn chromedriver() -> (Kill, String) {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "browser tests need Debian's chromium and chromium-driver: apt-get install -y chromium chromium-driver fonts-noto-cjk"
    );
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Kill(child), format!("http://127.0.0.1:{port}"))
}

pub(crate) async fn browser(driver: &str, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--lang=zh-CN", "--window-size=1366,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("chromium session")
}

/// The text of the first element matching `css`, waiting up to 10 s for it. An element
/// that goes stale between finding and reading (the page was replaced) is looked up again.
pub(crate) async fn text(c: &Client, css: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let el = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        match el.text().await {
            Ok(t) => return t,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{css}: text: {e}"),
        }
    }
}

/// Clicks the first element matching `css`. When the click submits a form or follows a
/// link (the application has no script, so both load a new page), waits until the old
/// page is gone: the next lookup then reads the new page, never a stale copy of the old.
pub(crate) async fn click(c: &Client, css: &str) {
    let el = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    let navigates = c
        .execute(
            "const e = arguments[0].closest('button, input[type=submit], a[href]');
             if (!e) return false;
             if (e.tagName === 'A') return !e.getAttribute('href').startsWith('#');
             if (!e.form) return false;
             return (e.getAttribute('type') || 'submit') === 'submit';",
            vec![serde_json::to_value(&el).expect("element")],
        )
        .await
        .expect("inspect click target")
        .as_bool()
        .unwrap_or(false);
    if navigates {
        c.execute("window.__dealerbaseOldPage = true; return null;", vec![])
            .await
            .expect("mark page");
    }
    el.click()
        .await
        .unwrap_or_else(|e| panic!("{css}: click: {e}"));
    if navigates {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let old = c
                .execute("return window.__dealerbaseOldPage === true;", vec![])
                .await
                .map(|v| v.as_bool().unwrap_or(false))
                .unwrap_or(false);
            if !old {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub(crate) async fn fill(c: &Client, css: &str, value: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

pub(crate) async fn path(c: &Client) -> String {
    let u = c.current_url().await.expect("url");
    match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    }
}

pub(crate) async fn sign_in(c: &Client, base: &str, login: &str) {
    c.goto(&format!("{base}/login")).await.expect("login page");
    fill(c, "#login", login).await;
    fill(c, "#password", dealerbase_demo::DEMO_PASSWORD).await;
    click(c, "#sign-in").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#sign-out"))
        .await
        .expect("signed in");
}

pub(crate) async fn sign_out(c: &Client) {
    click(c, "#sign-out").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#sign-in"))
        .await
        .expect("signed out");
    assert!(path(c).await.starts_with("/login"));
}

/// What the test needs from the demo data: a customer of consultant s01.sales1 with a
/// plate, and a customer and a lead of consultant s01.sales2.
struct Targets {
    customer: i64,
    name: String,
    plate: String,
    others_customer: i64,
    others_lead: i64,
}

async fn find_targets(url: &str) -> Targets {
    let db = Db::open(url).await.expect("open demo db");
    let svc = Services::new(db.clone(), Arc::new(SystemClock));
    let actor = |login: &'static str| {
        let db = db.clone();
        async move {
            let s = db.staff_by_login(login).await.expect("staff").expect(login);
            Actor::from_staff(&s).expect("actor")
        }
    };
    let sales1 = actor("s01.sales1").await;
    let sales2 = actor("s01.sales2").await;
    let mut found = None;
    'pages: for page in 1..=20 {
        let list = svc
            .list_customers(
                &sales1,
                &CustomerQuery {
                    page: Some(page),
                    per_page: Some(100),
                    ..Default::default()
                },
            )
            .await
            .expect("list");
        for c in &list.items {
            for (v, o) in db.customer_vehicles(c.id).await.expect("vehicles") {
                if let (Some(plate), None) = (v.fields.plate.clone(), o.to_date) {
                    found = Some((c.id, c.name.clone(), plate));
                    break 'pages;
                }
            }
        }
        if !list.has_more {
            break;
        }
    }
    let (customer, name, plate) = found.expect("a customer of s01.sales1 with a plate");
    let others = svc
        .list_customers(
            &sales2,
            &CustomerQuery {
                per_page: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let leads = svc
        .list_leads(
            &sales2,
            &LeadQuery {
                per_page: Some(1),
                ..Default::default()
            },
        )
        .await
        .expect("leads");
    let t = Targets {
        customer,
        name,
        plate,
        others_customer: others.items.first().expect("a customer of s01.sales2").id,
        others_lead: leads.items.first().expect("a lead of s01.sales2").id,
    };
    db.close().await;
    t
}

#[tokio::test]
async fn a_day_in_the_browser() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("browser.db").display());
    // A fixed "today" for the demo keeps the data, and so the screenshot, the same run
    // after run.
    let today = crate::harness::TODAY;
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
    c.set_window_size(1366, 1000)
        .await
        .map_err(|e| e.to_string())?;
    // Sign in as a consultant: the start page is today's task list, in Chinese.
    sign_in(c, base, "s01.sales1").await;
    assert_eq!(path(c).await, "/today");
    assert!(text(c, "h1").await.contains("今日待办"));

    // Search a customer by plate and open the 360 page.
    click(c, "nav a[href='/customers']").await;
    fill(c, "#q", &t.plate).await;
    click(c, "#search").await;
    let links = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#customers a.customer-link"))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(links.text().await.map_err(|e| e.to_string())?, t.name);
    links.click().await.map_err(|e| e.to_string())?;
    assert!(text(c, "#customer-name").await.contains(&t.name));
    assert_eq!(path(c).await, format!("/customers/{}", t.customer));
    let mobile = text(c, "#mobile").await;
    assert!(mobile.contains("****"), "masked for a consultant: {mobile}");
    assert!(
        c.find(Locator::Css("#reveal")).await.is_err(),
        "consultants cannot reveal"
    );
    assert!(text(c, "#vehicles").await.contains(&t.plate));
    assert!(text(c, "#work-orders h2").await.contains("维修工单"));

    // Edit: a bad e-mail is refused in Chinese, what was typed stays; then in English.
    click(c, "#edit-customer").await;
    fill(c, "#f-email", "not-an-email").await;
    fill(c, "#f-address", "杭州市西湖区文三路 1 号").await;
    click(c, "#save").await;
    let err = text(c, "#err-email").await;
    assert!(err.contains("电子邮箱格式不正确"), "{err}");
    let kept = c
        .find(Locator::Css("#f-address"))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        kept.prop("value")
            .await
            .map_err(|e| e.to_string())?
            .as_deref(),
        Some("杭州市西湖区文三路 1 号")
    );
    click(c, "#lang-switch").await;
    c.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::XPath("//a[@id='lang-switch' and text()='中文']"))
        .await
        .map_err(|e| e.to_string())?;
    fill(c, "#f-email", "still-not-an-email").await;
    click(c, "#save").await;
    let err = text(c, "#err-email").await;
    assert!(err.contains("not an e-mail address"), "{err}");
    // Back to Chinese, remembered across pages.
    click(c, "#lang-switch").await;
    c.goto(&format!("{base}/customers"))
        .await
        .map_err(|e| e.to_string())?;
    assert!(text(c, "h1").await.contains("客户"));

    // Another consultant's customer and lead: not found, by page and by API.
    for p in [
        format!("/customers/{}", t.others_customer),
        format!("/leads/{}", t.others_lead),
    ] {
        c.goto(&format!("{base}{p}"))
            .await
            .map_err(|e| e.to_string())?;
        let msg = text(c, "#error-message").await;
        assert!(msg.contains("未找到"), "{p}: {msg}");
        assert!(
            c.title()
                .await
                .map_err(|e| e.to_string())?
                .starts_with("404"),
            "{p}"
        );
    }
    c.goto(&format!("{base}/api/v1/leads/{}", t.others_lead))
        .await
        .map_err(|e| e.to_string())?;
    let body = c.source().await.map_err(|e| e.to_string())?;
    assert!(body.contains("not_found"), "{body}");
    c.goto(&format!("{base}/today"))
        .await
        .map_err(|e| e.to_string())?;
    sign_out(c).await;

    // A manager reveals the mobile; the screenshot shows the page before the reveal.
    sign_in(c, base, "s01.manager").await;
    c.goto(&format!("{base}/customers/{}", t.customer))
        .await
        .map_err(|e| e.to_string())?;
    text(c, "#reveal").await;
    let png = c.screenshot().await.map_err(|e| e.to_string())?;
    let shot = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/screenshots/customer-360.png"
    );
    if let Some(parent) = std::path::Path::new(shot).parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::write(shot, &png).map_err(|e| e.to_string())?;
    click(c, "#reveal").await;
    text(c, "#revealed-note").await;
    let full = text(c, "#mobile").await;
    assert!(!full.contains('*') && full.len() == 11, "revealed: {full}");
    sign_out(c).await;

    // The administrator sees the reveal in the audit log.
    sign_in(c, base, "admin").await;
    c.goto(&format!("{base}/admin/audit?action=reveal"))
        .await
        .map_err(|e| e.to_string())?;
    let log = text(c, "#audit").await;
    assert!(
        log.contains("s01.manager") && log.contains(&t.customer.to_string()),
        "{log}"
    );
    sign_out(c).await;
    // Signed out: pages send back to the sign-in page.
    c.goto(&format!("{base}/customers/{}", t.customer))
        .await
        .map_err(|e| e.to_string())?;
    text(c, "#sign-in").await;
    Ok(())
}
