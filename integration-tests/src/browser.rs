//! The real Chromium, headless, driven through its WebDriver (`chromedriver`) with
//! fantoccini: pages as a user sees them, the keyboard, screenshots under
//! `target/portal-screenshots/`, and axe-core's accessibility check on every page.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::receivers::free_port;

/// Where the screenshots of each run go.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/portal-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

/// A headless Chromium session; its driver is stopped on drop.
pub struct Chrome {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    /// The portal's address, `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Chrome {
    /// Starts chromedriver and a browser that asks for `accept_language` first, pointed at
    /// the portal at `base`.
    ///
    /// # Panics
    /// When chromium or chromedriver is missing (`scripts/ensure-deps.sh browser`).
    pub async fn start(base: &str, accept_language: &str) -> Self {
        for _ in 0..5 {
            let port = free_port();
            let mut driver = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver: run scripts/ensure-deps.sh browser (just test does)");
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..100 {
                if matches!(driver.try_wait(), Ok(Some(_))) {
                    break;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    let client = session(&url, accept_language).await;
                    return Self {
                        client,
                        driver,
                        base: base.to_owned(),
                    };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = driver.kill();
            let _ = driver.wait();
        }
        panic!("chromedriver did not listen on any of five free ports");
    }

    /// Opens `path` of the portal.
    pub async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .expect("goto");
    }

    /// Signs in through the form as the test user `email` (the harness's password) and
    /// waits for the home page's menu.
    pub async fn sign_in(&self, email: &str) {
        self.open("/signin").await;
        self.fill("#email", email).await;
        self.fill("#password", &tillit_testkit::harness::user_password(email))
            .await;
        self.click("form button.primary").await;
        self.find("header nav").await;
    }

    /// Signs out with the header's button and waits for the sign-in form.
    pub async fn sign_out(&self) {
        self.click("form[action='/signout'] button").await;
        self.find("#email").await;
    }

    /// The path (and query) the browser is at.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Types `text` into the field `css` after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Chooses the file at `path` in the file input `css`.
    pub async fn attach(&self, css: &str, path: &std::path::Path) {
        self.find(css)
            .await
            .send_keys(&path.display().to_string())
            .await
            .expect("attach");
    }

    /// Clicks `css`.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Chooses `value` in the select `css`.
    pub async fn choose(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .expect("select");
    }

    /// The element `css`, waiting up to 10 s for it (a click does not wait for the page
    /// it leads to).
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    /// Whether `css` is on the page now (no waiting).
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// How many elements match `css` now (no waiting).
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |found| found.len())
    }

    /// The text of `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// The page source as the browser has it.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("source")
    }

    /// Presses Tab until the element with id `id` has the focus; answers how many presses.
    ///
    /// # Panics
    /// When 40 presses do not reach it.
    pub async fn tab_to(&self, id: &str) -> usize {
        for presses in 1..=40 {
            self.keys("\u{E004}").await;
            let focused = self
                .client
                .execute(
                    "return document.activeElement && document.activeElement.id",
                    vec![],
                )
                .await
                .expect("active element");
            if focused.as_str() == Some(id) {
                return presses;
            }
        }
        panic!("Tab never reached #{id}");
    }

    /// Sends `keys` to the focused element (WebDriver key codes: Tab `\u{E004}`, Enter
    /// `\u{E007}`, Space ` `).
    pub async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(keys)
            .await
            .expect("keys");
    }

    /// Saves a screenshot of the whole page (up to 6000 pixels tall) as
    /// `target/portal-screenshots/<name>.png` at `width` pixels.
    pub async fn screenshot(&self, name: &str, width: u32) -> PathBuf {
        self.client
            .set_window_size(width, 900)
            .await
            .expect("window size");
        let height = self
            .client
            .execute("return document.documentElement.scrollHeight", vec![])
            .await
            .expect("page height")
            .as_u64()
            .unwrap_or(900)
            .clamp(900, 6000);
        self.client
            .set_window_size(width, u32::try_from(height).unwrap_or(900))
            .await
            .expect("window size");
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        self.client
            .set_window_size(1280, 900)
            .await
            .expect("window size");
        path
    }

    /// axe-core's violations of impact "serious" or "critical" on the page, one line each;
    /// it also prints the page's count of every impact, for the record.
    pub async fn axe(&self, page: &str) -> Vec<String> {
        let script = std::fs::read_to_string(axe_path())
            .expect("axe-core: run scripts/ensure-deps.sh browser (just test does)");
        self.client
            .execute(&script, vec![])
            .await
            .expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: 0 }]));",
                vec![],
            )
            .await
            .expect("axe.run");
        let violations = result.as_array().cloned().unwrap_or_default();
        let impact = |v: &Value| v["impact"].as_str().unwrap_or("").to_owned();
        let counts: Vec<String> = ["critical", "serious", "moderate", "minor"]
            .iter()
            .map(|level| {
                let n = violations.iter().filter(|v| impact(v) == *level).count();
                format!("{level} {n}")
            })
            .collect();
        println!("axe-core {page}: {}", counts.join(", "));
        violations
            .iter()
            .filter(|v| matches!(impact(v).as_str(), "serious" | "critical"))
            .map(|v| {
                format!(
                    "{} ({}): {} — {} nodes",
                    v["id"],
                    impact(v),
                    v["help"],
                    v["nodes"]
                )
            })
            .collect()
    }

    /// Opens `path`, checks it with axe-core (no serious or critical violation) and saves
    /// its screenshot as `name`.
    ///
    /// # Panics
    /// On a serious or critical violation.
    pub async fn visit_checked(&self, path: &str, name: &str) {
        self.open(path).await;
        self.check(name).await;
    }

    /// The current page printed as the browser prints it (A4, the page's print stylesheet),
    /// saved as `<name>.pdf` beside the screenshots; answers its bytes.
    pub async fn pdf(&self, name: &str) -> Vec<u8> {
        let config = fantoccini::wd::PrintConfiguration::builder()
            .build()
            .expect("a print configuration");
        let pdf = self.client.print(config).await.expect("print");
        let path = screenshot_dir().join(format!("{name}.pdf"));
        std::fs::write(&path, &pdf).expect("save the PDF");
        pdf
    }

    /// The current page checked with axe-core and saved as `name`.
    pub async fn check(&self, name: &str) {
        let violations = self.axe(name).await;
        assert!(violations.is_empty(), "{name}: {violations:#?}");
        self.screenshot(name, 1280).await;
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn axe_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/node_modules/axe-core/axe.min.js")
}

async fn session(url: &str, accept_language: &str) -> Client {
    let profile = tempfile::tempdir().expect("a profile directory").keep();
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
                format!("--lang={accept_language}"),
            ],
            "prefs": { "intl.accept_languages": accept_language },
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("an object");
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(url)
        .await
        .expect("a WebDriver session with chromium")
}
