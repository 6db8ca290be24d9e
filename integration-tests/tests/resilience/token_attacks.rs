//! Token attacks at every service, not only at identity: each forged, stale, misaddressed
//! or foreign token is UNAUTHENTICATED at identity, assets, incidents and reporting alike,
//! and each refusal is counted as a security event (`tillit_auth_refused_total`) on the
//! service's admin port. (No token reaches a log: `operations::logs` greps a debug-level
//! run for every token.)

use tillit_integration_tests::identity::{Forger, Stack, bearer, claims_of};
use tillit_integration_tests::platform::Platform;
use tillit_proto::assets::ListAssetsRequest;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::identity::identity_service_client::IdentityServiceClient;
use tillit_proto::identity::{DeactivateUserRequest, WhoAmIRequest};
use tillit_proto::incidents::ListIncidentsRequest;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::reporting::GetDashboardRequest;
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tonic::Code;

/// The sum of `tillit_auth_refused_total` in a service's metrics.
fn refusals(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("tillit_auth_refused_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_refuses_every_forged_stale_or_foreign_token_and_counts_it() {
    let platform = Platform::start().await;
    let (reporting, _reporting_data) = platform.reporting(time::Duration::ZERO).await;
    let identity = &platform._identity;
    let admin = identity.admin_token().await;
    let good = claims_of(&platform.officer.0);
    let forger = Forger::of_identity(platform._data.path(), &platform.officer.0);
    assert!(
        IdentityServiceClient::new(identity.channel().await)
            .who_am_i(bearer(&forger.sign(&good), WhoAmIRequest::default()))
            .await
            .is_ok(),
        "the forger's control token is valid"
    );

    // A foreign key under the real kid; a genuine token of another deployment.
    let foreign = Forger {
        key: ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        kid: forger.kid.clone(),
    };
    let other = Stack::start().await;
    let elsewhere = other.identity.admin_token().await;
    // Bob, deactivated after his token was issued.
    IdentityServiceClient::new(identity.channel().await)
        .deactivate_user(bearer(
            &admin,
            DeactivateUserRequest {
                user_id: claims_of(&platform.bob).sub,
                consistency: None,
            },
        ))
        .await
        .expect("deactivate bob");

    let mut cases = forger.attacks(&good);
    cases.extend([
        (
            "a foreign EdDSA key with the matching kid",
            foreign.sign(&good),
        ),
        ("a deactivated user", platform.bob.clone()),
        ("a token of another deployment", elsewhere),
        ("not a token at all", "eyJnot.a.token".into()),
    ]);

    let services = [
        ("identity", identity.admin),
        ("assets", platform.assets.admin),
        ("incidents", platform.incidents.admin),
        ("reporting", reporting.admin),
    ];
    let mut identity_client = IdentityServiceClient::new(identity.channel().await);
    let mut assets = AssetsServiceClient::new(platform.assets.channel().await);
    let mut incidents = IncidentsServiceClient::new(platform.incidents.channel().await);
    let mut reports = ReportingServiceClient::new(reporting.channel().await);
    // Bob's deactivation reaches the identity view of the last service (reporting) within
    // milliseconds; wait for it rather than guess.
    let deactivated = tillit_testkit::eventually(std::time::Duration::from_secs(5), || {
        let mut reports = reports.clone();
        let bob = platform.bob.clone();
        async move {
            let answer = reports
                .get_dashboard(bearer(&bob, GetDashboardRequest::default()))
                .await;
            matches!(answer, Err(status) if status.code() == Code::Unauthenticated)
        }
    })
    .await;
    assert!(deactivated, "reporting learnt of the deactivation");
    let mut before = Vec::new();
    for (_, admin_port) in &services {
        let (_, metrics) =
            tillit_integration_tests::identity::http_get(*admin_port, "/metrics").await;
        before.push(refusals(&metrics));
    }
    for (name, token) in &cases {
        let answers = [
            (
                "identity",
                identity_client
                    .who_am_i(bearer(token, WhoAmIRequest::default()))
                    .await
                    .map(drop),
            ),
            (
                "assets",
                assets
                    .list_assets(bearer(token, ListAssetsRequest::default()))
                    .await
                    .map(drop),
            ),
            (
                "incidents",
                incidents
                    .list_incidents(bearer(token, ListIncidentsRequest::default()))
                    .await
                    .map(drop),
            ),
            (
                "reporting",
                reports
                    .get_dashboard(bearer(token, GetDashboardRequest::default()))
                    .await
                    .map(drop),
            ),
        ];
        for (service, answer) in answers {
            let status = answer.expect_err(&format!("{service} accepted {name}"));
            assert_eq!(
                status.code(),
                Code::Unauthenticated,
                "{service}, {name}: {status:?}"
            );
            assert!(
                !status.message().contains(token.as_str()),
                "{service} echoes the token"
            );
        }
    }
    for ((service, admin_port), before) in services.iter().zip(before) {
        let (_, metrics) =
            tillit_integration_tests::identity::http_get(*admin_port, "/metrics").await;
        let counted = refusals(&metrics) - before;
        assert!(
            counted >= cases.len() as u64,
            "{service} counted {counted} refusals of {} attacks",
            cases.len()
        );
    }
    println!(
        "{} token attacks at 4 services: all UNAUTHENTICATED and counted",
        cases.len()
    );
}
