//! Headless Chromium driven through chromedriver (Debian's `chromium` and `chromium-driver`
//! packages): the driver process on a free port, a browser session with a fresh profile, page
//! screenshots, and axe-core (vendored in `assets/`) run against each page.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use thirtyfour::prelude::*;
use thirtyfour::{ChromeCapabilities, ChromiumLikeCapabilities};

use testkit::receiver::free_port;

/// axe-core, from the npm registry (version and license: `assets/README.md`).
const AXE: &str = include_str!("assets/axe.min.js");

/// A chromedriver process, stopped when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    /// Starts `$CHROMEDRIVER` (default `chromedriver`) and waits until it answers.
    pub async fn start() -> Driver {
        let program = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} ({e}): install chromium and chromium-driver")
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = reqwest::get(format!("{url}/status")).await
                && response.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver never answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver { child, url }
    }

    /// A browser session: headless, no sandbox (CI runs as root), a fresh profile in `profile`,
    /// nothing fetched in the background.
    pub async fn browser(&self, profile: &std::path::Path) -> WebDriver {
        let mut caps: ChromeCapabilities = DesiredCapabilities::chrome();
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        caps.set_binary(&binary).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,1500",
            &format!("--user-data-dir={}", profile.display()),
        ] {
            caps.add_arg(arg).unwrap();
        }
        WebDriver::new(&self.url, caps)
            .await
            .expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the screenshots go: `target/ui-screenshots/` (or under `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot of the whole page (the window made as tall as it, up to 4000 pixels) as
/// `NAME.png`.
pub async fn screenshot(driver: &WebDriver, name: &str) {
    let height = driver
        .execute("return document.body.scrollHeight + 40;", Vec::new())
        .await
        .unwrap();
    let height = height.json().as_u64().unwrap_or(1500).clamp(600, 4000) as u32;
    driver
        .set_window_rect(0, 0, 1280, height + 140)
        .await
        .unwrap();
    let path = screenshot_dir().join(format!("{name}.png"));
    driver.screenshot(&path).await.unwrap();
    driver.set_window_rect(0, 0, 1280, 1500).await.unwrap();
    println!("screenshot: {}", path.display());
}

/// Runs axe-core on the page and fails on any serious or critical violation.
pub async fn assert_accessible(driver: &WebDriver, page: &str) {
    let loaded = driver
        .execute(format!("{AXE}\n;return typeof axe;"), Vec::new())
        .await
        .unwrap();
    assert_eq!(loaded.json(), "object", "axe-core did not load on {page}");
    let result = driver
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, {resultTypes: ['violations']})
              .then(r => done(r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))
              .catch(e => done({error: String(e)}));"#,
            Vec::new(),
        )
        .await
        .unwrap();
    let violations = result.json().as_array().unwrap_or_else(|| {
        panic!("axe-core failed on {page}: {}", result.json());
    });
    let blocking: Vec<&Value> = violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    for minor in violations.iter().filter(|v| !blocking.contains(v)) {
        println!("axe on {page} (not serious): {minor}");
    }
    assert!(
        blocking.is_empty(),
        "serious or critical accessibility violations on {page}: {blocking:#?}"
    );
}

/// Clicks the element found by `by` and waits until the page it leads to has loaded (the old
/// document gone, the new one complete).
pub async fn click_through(driver: &WebDriver, by: By) {
    driver
        .execute("window.__leaving = true;", Vec::new())
        .await
        .unwrap();
    driver.find(by).await.unwrap().click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = driver
            .execute(
                "return window.__leaving === undefined && document.readyState === 'complete';",
                Vec::new(),
            )
            .await;
        if matches!(state, Ok(ref s) if s.json() == true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the click never led to a new page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `check` holds for the page (reloading it between tries), up to 30 s.
pub async fn eventually_on_page(driver: &WebDriver, what: &str, check: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let source = driver.source().await.unwrap();
        if check(&source) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never on the page: {what}\n{source}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        driver.refresh().await.unwrap();
    }
}
