//! The portal in-process beside a platform, and a small browser without JavaScript: an
//! HTTP client that keeps cookies the way a browser does and follows no redirect by
//! itself, so a test sees every 303 and every Set-Cookie.

use std::collections::BTreeMap;

use tillit_testkit::harness::Service;

use crate::platform::Platform;

/// Starts the portal against `platform` and its reporting service at `reporting`.
pub async fn start_portal(
    platform: &Platform,
    reporting: std::net::SocketAddr,
    data: &std::path::Path,
) -> Service {
    start_portal_with(platform, reporting, data, &[]).await
}

/// [`start_portal`] with `extra` settings over the usual ones (a service's address pointed
/// elsewhere, say).
pub async fn start_portal_with(
    platform: &Platform,
    reporting: std::net::SocketAddr,
    data: &std::path::Path,
    extra: &[(&str, &str)],
) -> Service {
    let identity = format!("http://{}", platform._identity.grpc);
    let assets = format!("http://{}", platform.assets.grpc);
    let incidents = format!("http://{}", platform.incidents.grpc);
    let reporting = format!("http://{reporting}");
    let mut pairs = vec![
        ("TILLIT_DATA_DIR", data.to_str().expect("utf-8 path")),
        ("TILLIT_PORTAL_PLAIN_HTTP", "true"),
        ("TILLIT_PORTAL_IDENTITY_URL", identity.as_str()),
        ("TILLIT_PORTAL_ASSETS_URL", assets.as_str()),
        ("TILLIT_PORTAL_INCIDENTS_URL", incidents.as_str()),
        ("TILLIT_PORTAL_REPORTING_URL", reporting.as_str()),
    ];
    pairs.extend(extra.iter().copied());
    let config = tillit_portal::PortalConfig::from_env(&tillit_runtime::Env::from_pairs(pairs))
        .expect("portal settings");
    Service::start_http(move |http, admin, shutdown| {
        tillit_portal::run(config, http, admin, shutdown)
    })
    .await
}

/// A consistency token as the portal's `after` query parameter (`STREAM.SEQUENCE,…`): a page
/// asked for with it waits until it has read those commits. The portal's own encoding.
pub use tillit_portal::api::after_text as after;

/// One answer: status, headers, body.
pub struct Page {
    /// The status code.
    pub status: u16,
    /// The headers, names lower case.
    pub headers: reqwest::header::HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the page is a form shown again (422) with a problem next to `field`.
    #[track_caller]
    pub fn assert_refused_at(&self, field: &str) {
        assert_eq!(self.status, 422, "{}", self.body);
        let marker = format!("id=\"{field}-problem\"");
        assert!(
            self.body.contains(&marker),
            "no problem at {field}: {}",
            self.body
        );
    }

    /// The value of the first hidden input `name` in the page (a form's CSRF token).
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        self.body
            .split_once(&marker)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(value, _)| value.to_owned())
            .unwrap_or_default()
    }
}

/// Cookies by name, sent back like a browser sends them.
#[derive(Default, Clone)]
pub struct Browser {
    /// The portal's address.
    pub base: String,
    /// What the portal set.
    pub cookies: BTreeMap<String, String>,
    /// `Accept-Language`, if any.
    pub language: Option<String>,
}

impl Browser {
    /// A browser with no cookies, pointed at `portal`.
    pub fn new(portal: &Service) -> Self {
        Self::at(portal.grpc)
    }

    /// A browser with no cookies, pointed at the portal at `addr`.
    pub fn at(addr: std::net::SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            ..Self::default()
        }
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// GET `path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = Self::client().get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// POST `path` with a form.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    tillit_portal::urlencode(k),
                    tillit_portal::urlencode(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let request = Self::client()
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// Posts a `multipart/form-data` form, as a browser uploads a file: `fields`, then the
    /// file `(field, file name, content)`.
    pub async fn upload(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &str),
    ) -> Page {
        let boundary = "----tillit-test-boundary-7f3a";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            ));
        }
        let (name, filename, content) = file;
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
             Content-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n"
        ));
        let request = Self::client()
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Page {
        if !self.cookies.is_empty() {
            let header: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request = request.header("cookie", header.join("; "));
        }
        if let Some(language) = &self.language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.expect("the portal answers");
        for set in response.headers().get_all("set-cookie") {
            let text = set.to_str().expect("ascii cookie");
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let removed = text.to_ascii_lowercase().contains("max-age=0");
                if removed || value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("a body"),
        }
    }

    /// A browser asking for English, signed in as the test user `email` (whose password is
    /// the harness's).
    pub async fn signed_in(portal: &Service, email: &str) -> Self {
        let mut browser = Self::new(portal);
        browser.language = Some("en".into());
        let landed = browser
            .sign_in(email, &tillit_testkit::harness::user_password(email))
            .await;
        assert_eq!(landed.status, 303, "{email} signs in: {}", landed.body);
        browser
    }

    /// Signs in through the form; answers the page the sign-in redirected to.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/signin?next=%2F").await;
        let csrf = form.hidden("csrf");
        self.post(
            "/signin",
            &[
                ("email", email),
                ("password", password),
                ("csrf", &csrf),
                ("next", "/"),
            ],
        )
        .await
    }
}
