//! The `tillit` command line against a running platform.

use std::path::PathBuf;
use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD};
use tillit_integration_tests::platform::Platform;
use tillit_integration_tests::receivers::built_binary;

/// The CLI pointed at `platform`, its config in its own directory.
struct Cli {
    binary: PathBuf,
    env: Vec<(String, String)>,
    config: tempfile::TempDir,
}

impl Cli {
    fn new(platform: &Platform, reporting: std::net::SocketAddr) -> Self {
        let binary = built_binary("tillit");
        let config = tempfile::tempdir().expect("dir");
        let env = vec![
            (
                "TILLIT_CONFIG_DIR".into(),
                config.path().display().to_string(),
            ),
            (
                "TILLIT_IDENTITY_URL".into(),
                format!("http://{}", platform._identity.grpc),
            ),
            (
                "TILLIT_ASSETS_URL".into(),
                format!("http://{}", platform.assets.grpc),
            ),
            (
                "TILLIT_INCIDENTS_URL".into(),
                format!("http://{}", platform.incidents.grpc),
            ),
            ("TILLIT_REPORTING_URL".into(), format!("http://{reporting}")),
        ];
        Self {
            binary,
            env,
            config,
        }
    }

    /// Runs it (asynchronously: the services answering it share this test's runtime).
    async fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(&self.binary)
            .args(args)
            .env_remove("TILLIT_PROFILE")
            .env_remove("TILLIT_PASSWORD")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run tillit");
        let mut input = child.stdin.take().expect("stdin");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("write stdin");
        drop(input);
        child.wait_with_output().await.expect("tillit ran")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn login_import_incidents_audit_export_and_annual_report_from_the_command_line() {
    let platform = Platform::start().await;
    let (reporting, _data) = platform.reporting(time::Duration::ZERO).await;
    let cli = Cli::new(&platform, reporting.grpc);

    // Not logged in: exit 3.
    let anonymous = cli.run(&["whoami"], "").await;
    assert_eq!(
        anonymous.status.code(),
        Some(3),
        "{}",
        text(&anonymous.stderr)
    );
    assert!(text(&anonymous.stderr).contains("tillit login"));

    let bad = cli
        .run(
            &["login", "--email", ADMIN_EMAIL, "--password-stdin"],
            "wrong\n",
        )
        .await;
    assert_eq!(bad.status.code(), Some(3), "{}", text(&bad.stderr));
    let login = cli
        .run(
            &["login", "--email", ADMIN_EMAIL, "--password-stdin"],
            &format!("{ADMIN_PASSWORD}\n"),
        )
        .await;
    assert!(login.status.success(), "{}", text(&login.stderr));
    let tokens = cli.config.path().join("tokens/default.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&tokens)
            .expect("token file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the token cache is the user's alone");
    }
    let me = cli.run(&["whoami", "--json"], "").await;
    let me: serde_json::Value = serde_json::from_slice(&me.stdout).expect("json");
    assert_eq!(me["tenant"], "internal");
    assert_eq!(me["roles"], "admin");

    // An import with one bad line: exit 1 and the line named.
    let csv = cli.config.path().join("assets.csv");
    std::fs::write(
        &csv,
        "tenant,name,kind,owner_email,c,i,a\n\
         acme,Acme mail,service,olle@tillit.test,3,3,3\n\
         acme,Acme web,service,olle@tillit.test,2,3,9\n\
         globex,Globex VPN,service,olle@tillit.test,3,3,3\n",
    )
    .unwrap();
    let import = cli
        .run(&["assets", "import", csv.to_str().unwrap()], "")
        .await;
    assert_eq!(import.status.code(), Some(1), "{}", text(&import.stderr));
    assert!(
        text(&import.stdout).contains("2 created"),
        "{}",
        text(&import.stdout)
    );
    let refused = text(&import.stderr);
    assert!(refused.contains("line 3:"), "{refused}");
    // A file larger than one request: the refused line keeps its number in the file.
    let mut big = String::from("tenant,name,kind,owner_email,c,i,a\n");
    for n in 2..=451 {
        let availability = if n == 420 { "0" } else { "2" };
        big.push_str(&format!(
            "globex,Server {n},system,olle@tillit.test,2,2,{availability}\n"
        ));
    }
    let big_csv = cli.config.path().join("big.csv");
    std::fs::write(&big_csv, big).unwrap();
    let imported = cli
        .run(&["assets", "import", big_csv.to_str().unwrap()], "")
        .await;
    assert_eq!(imported.status.code(), Some(1));
    assert!(
        text(&imported.stdout).contains("449 created"),
        "{}",
        text(&imported.stdout)
    );
    let refused = text(&imported.stderr);
    assert!(refused.contains("line 420:"), "{refused}");
    assert!(!refused.contains("line 220:"), "{refused}");
    let listed = cli
        .run(&["assets", "list", "--tenant", "acme", "--json"], "")
        .await;
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));

    // Report and list incidents.
    let reported = cli
        .run(
            &[
                "incidents",
                "report",
                "--kind",
                "deviation",
                "--title",
                "Laptop left on the train",
                "--description",
                "Encrypted, but still",
                "--json",
            ],
            "",
        )
        .await;
    assert!(reported.status.success(), "{}", text(&reported.stderr));
    let id =
        serde_json::from_slice::<serde_json::Value>(&reported.stdout).expect("json")["incident_id"]
            .as_str()
            .expect("id")
            .to_owned();
    let list = cli.run(&["incidents", "list"], "").await;
    let table = text(&list.stdout);
    assert!(table.starts_with("INCIDENT_ID"), "{table}");
    assert!(
        table.contains(&id) && table.contains("Laptop left on the train"),
        "{table}"
    );
    let missing = cli
        .run(
            &["incidents", "show", "01a21ef1-ffe1-73fb-9a0b-ba4a0b208535"],
            "",
        )
        .await;
    assert_eq!(missing.status.code(), Some(4), "{}", text(&missing.stderr));
    let invalid = cli
        .run(
            &[
                "incidents",
                "report",
                "--kind",
                "rumour",
                "--title",
                "x",
                "--description",
                "y",
            ],
            "",
        )
        .await;
    assert_eq!(invalid.status.code(), Some(2), "{}", text(&invalid.stderr));
    assert!(text(&invalid.stderr).contains("kind"));

    // The audit trail as CSV (reporting's projection follows the log within moments).
    let export = cli.config.path().join("audit.csv");
    let path = export.to_str().unwrap().to_owned();
    let exported = tillit_testkit::eventually(std::time::Duration::from_secs(10), || async {
        let done = cli
            .run(&["audit", "export", "--csv", "-o", &path], "")
            .await;
        done.status.success()
            && std::fs::read_to_string(&export)
                .is_ok_and(|csv| csv.contains("tillit.incidents.v1.ReportIncident"))
    })
    .await;
    assert!(exported, "the report is not in the exported trail");
    let audit = std::fs::read_to_string(&export).expect("export");
    assert!(audit.starts_with("recorded_at,stream,sequence,actor,"));

    // The annual report as HTML.
    let year = time::OffsetDateTime::now_utc().year().to_string();
    let html = cli.config.path().join("review.html");
    let annual = cli
        .run(
            &[
                "report",
                "annual",
                &year,
                "--format",
                "html",
                "-o",
                html.to_str().unwrap(),
            ],
            "",
        )
        .await;
    assert!(annual.status.success(), "{}", text(&annual.stderr));
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("management review"));
    assert!(text(&annual.stderr).contains("--as-of INCIDENTS:"));

    // The directory and one's own tasks; completions need no server.
    let tenants = text(&cli.run(&["tenants"], "").await.stdout);
    assert!(tenants.contains("internal"), "{tenants}");
    let users = text(&cli.run(&["users", "--tenant", "internal"], "").await.stdout);
    assert!(users.contains(ADMIN_EMAIL), "{users}");
    assert!(cli.run(&["tasks"], "").await.status.success());
    let completions = cli.run(&["completions", "bash"], "").await;
    assert!(text(&completions.stdout).contains("_tillit()"));

    // Demo data, twice: the second run adds nothing.
    let count = |output: Output| {
        serde_json::from_slice::<serde_json::Value>(&output.stdout)
            .expect("json")
            .as_array()
            .map_or(0, Vec::len)
    };
    let seeded = cli.run(&["demo", "seed"], "").await;
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let incidents = count(cli.run(&["incidents", "list", "--json"], "").await);
    let assets = count(cli.run(&["assets", "list", "--json"], "").await);
    let again = cli.run(&["demo", "seed"], "").await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    // One demo user per role, each printed with a temporary password that signs in (the
    // second run gave them new ones).
    let printed = text(&again.stdout);
    for role in [
        "security_officer",
        "manager",
        "employee",
        "auditor",
        "customer",
    ] {
        assert!(printed.contains(role), "no {role} user:\n{printed}");
    }
    let officer = printed
        .lines()
        .find(|l| l.contains("officer@tillit.local"))
        .and_then(|l| l.split_whitespace().last())
        .expect("the officer's password");
    let mut identity = platform._identity.client().await;
    let signed = identity
        .login(tillit_proto::identity::LoginRequest {
            email: "officer@tillit.local".into(),
            password: officer.into(),
            ..Default::default()
        })
        .await;
    // A temporary password: identity asks for it to be changed, which proves it is right.
    let refused = signed.expect_err("a temporary password must be changed first");
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert_eq!(
        count(cli.run(&["incidents", "list", "--json"], "").await),
        incidents
    );
    assert_eq!(
        count(cli.run(&["assets", "list", "--json"], "").await),
        assets
    );
    let states = text(&cli.run(&["incidents", "list"], "").await.stdout);
    for state in ["reported", "triaged", "contained", "closed"] {
        assert!(states.contains(state), "no {state} incident:\n{states}");
    }

    // A service that is down: exit 5. A usage mistake: exit 2.
    let down = cli
        .run(
            &["incidents", "list", "--incidents-url", "http://127.0.0.1:9"],
            "",
        )
        .await;
    assert_eq!(down.status.code(), Some(5), "{}", text(&down.stderr));
    assert_eq!(
        cli.run(&["incidents", "frobnicate"], "")
            .await
            .status
            .code(),
        Some(2)
    );
    assert!(cli.run(&["verify", "INCIDENTS"], "").await.status.success());
}

#[tokio::test]
async fn a_person_exports_their_data_and_an_unknown_subject_is_no_erasure() {
    let platform = Platform::start().await;
    let (reporting, _data) = platform.reporting(time::Duration::ZERO).await;
    let cli = Cli::new(&platform, reporting.grpc);
    let login = cli
        .run(
            &["login", "--email", ADMIN_EMAIL, "--password-stdin"],
            &format!("{ADMIN_PASSWORD}\n"),
        )
        .await;
    assert!(login.status.success(), "{}", text(&login.stderr));
    let file = cli.config.path().join("my-data.json");
    let export = cli
        .run(&["data", "export", "-o", file.to_str().unwrap()], "")
        .await;
    assert!(export.status.success(), "{}", text(&export.stderr));
    let document: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("written")).expect("json");
    assert_eq!(document["erased"], false);
    assert!(
        document.to_string().contains(ADMIN_EMAIL),
        "the admin's own address, opened: {document}"
    );

    let unknown = cli
        .run(
            &[
                "data",
                "erase",
                "0193a3c2-7f4e-7abc-9def-0123456789ab",
                "--reason",
                "case 1",
            ],
            "",
        )
        .await;
    assert_eq!(unknown.status.code(), Some(4), "{}", text(&unknown.stderr));
    let malformed = cli
        .run(&["data", "erase", "not/an/id", "--reason", "case 1"], "")
        .await;
    assert_eq!(
        malformed.status.code(),
        Some(2),
        "{}",
        text(&malformed.stderr)
    );
    assert!(text(&malformed.stderr).contains("subject_id"));
}
