//! Sessions and claims: a logout (or a stolen refresh token) ends the access tokens too,
//! at every service; a dead token appends nothing; a validly signed token gets only the
//! roles the log gives its subject, and no longer life than identity issues.

use std::time::{Duration, Instant};

use tillit_integration_tests::identity::{Forger, bearer, claims_of, user_password};
use tillit_integration_tests::platform::{Platform, stream_messages};
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::ListAssetsRequest;
use tillit_proto::identity::{
    CreateTenantRequest, ListUsersRequest, LogoutRequest, RefreshRequest, WhoAmIRequest,
};
use tillit_proto::incidents::ListIncidentsRequest;
use tonic::Code;

const ERIK: &str = "erik@tillit.test";

/// Waits until `token` is refused as UNAUTHENTICATED at identity, assets and incidents.
async fn refused_everywhere(platform: &Platform, token: &str) -> Duration {
    let started = Instant::now();
    let mut identity = platform._identity.client().await;
    let mut assets = platform.assets().await;
    let mut incidents = platform.incidents().await;
    loop {
        let codes = [
            identity
                .who_am_i(bearer(token, WhoAmIRequest::default()))
                .await
                .err()
                .map(|s| s.code()),
            assets
                .list_assets(bearer(token, ListAssetsRequest::default()))
                .await
                .err()
                .map(|s| s.code()),
            incidents
                .list_incidents(bearer(token, ListIncidentsRequest::default()))
                .await
                .err()
                .map(|s| s.code()),
        ];
        if codes.iter().all(|c| *c == Some(Code::Unauthenticated)) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still accepted: {codes:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn log_length(platform: &Platform) -> u64 {
    let mut total = 0;
    for stream in ["IDENTITY", "CREDENTIALS"] {
        total += stream_messages(&platform.nats, stream).await;
    }
    total
}

#[tokio::test]
async fn logout_ends_the_access_token_everywhere_and_a_dead_token_appends_nothing() {
    let platform = Platform::start().await;
    let identity = &platform._identity;
    let session = identity
        .login(ERIK, &user_password(ERIK))
        .await
        .expect("login");
    let other = identity
        .login(ERIK, &user_password(ERIK))
        .await
        .expect("second sign-in");
    assert!(
        !claims_of(&session.access_token).sid.is_empty(),
        "tokens carry a session id"
    );
    platform
        .assets()
        .await
        .list_assets(bearer(&session.access_token, ListAssetsRequest::default()))
        .await
        .expect("works before the logout");

    let mut client = identity.client().await;
    client
        .logout(LogoutRequest {
            refresh_token: session.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect("logout");
    let took = refused_everywhere(&platform, &session.access_token).await;
    eprintln!("logged-out access token refused everywhere after {took:?}");
    // The other sign-in of the same person goes on.
    client
        .who_am_i(bearer(&other.access_token, WhoAmIRequest::default()))
        .await
        .expect("another session is untouched");

    // A dead refresh token, presented again, changes nothing.
    let before = log_length(&platform).await;
    let again = client
        .logout(LogoutRequest {
            refresh_token: session.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect_err("logged out already");
    assert_eq!(again.code(), Code::Unauthenticated);
    let refresh = client
        .refresh(RefreshRequest {
            refresh_token: session.refresh_token,
            consistency: None,
        })
        .await
        .expect_err("dead");
    assert_eq!(refresh.code(), Code::Unauthenticated);
    assert_eq!(
        log_length(&platform).await,
        before,
        "a dead token appends nothing"
    );
}

#[tokio::test]
async fn a_stolen_refresh_token_presented_twice_ends_the_sessions_access_tokens() {
    let platform = Platform::start().await;
    let identity = &platform._identity;
    let session = identity
        .login(ERIK, &user_password(ERIK))
        .await
        .expect("login");
    let mut client = identity.client().await;
    let rotated = client
        .refresh(RefreshRequest {
            refresh_token: session.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect("the thief refreshes")
        .into_inner();
    // The victim presents the old one: reuse, the whole session ends.
    let reuse = client
        .refresh(RefreshRequest {
            refresh_token: session.refresh_token,
            consistency: None,
        })
        .await
        .expect_err("reuse");
    assert_eq!(reuse.code(), Code::Unauthenticated);
    refused_everywhere(&platform, &rotated.access_token).await;
    refused_everywhere(&platform, &session.access_token).await;
}

#[tokio::test]
async fn a_signed_token_gets_only_the_roles_the_log_holds_and_no_longer_life() {
    let platform = Platform::start().await;
    let (employee, _) = &platform.employee;
    let forger = Forger::of_identity(platform._data.path(), employee);
    let honest = claims_of(employee);

    // Signed with identity's own key, claiming admin for an employee.
    let admin_claim = forger.sign(&tillit_auth::Claims {
        roles: vec!["admin".into(), "employee".into()],
        ..honest.clone()
    });
    let mut identity = platform._identity.client().await;
    let me = identity
        .who_am_i(bearer(&admin_claim, WhoAmIRequest::default()))
        .await
        .expect("the token itself is valid")
        .into_inner();
    assert_eq!(
        me.roles().map(|r| r.word().to_owned()).collect::<Vec<_>>(),
        vec!["employee".to_owned()],
        "only the roles the log gives"
    );
    for denied in [
        identity
            .create_tenant(bearer(
                &admin_claim,
                CreateTenantRequest {
                    tenant_id: "mallory".into(),
                    name: "Mallory AB".into(),
                    ..Default::default()
                },
            ))
            .await
            .err(),
        identity
            .list_users(bearer(&admin_claim, ListUsersRequest::default()))
            .await
            .err(),
    ] {
        assert_eq!(denied.map(|s| s.code()), Some(Code::PermissionDenied));
    }

    // A lifetime of a day, where identity issues 15 minutes: refused everywhere.
    let long_lived = forger.sign(&tillit_auth::Claims {
        exp: honest.iat + 24 * 3600,
        ..honest.clone()
    });
    let refused = platform
        .assets()
        .await
        .list_assets(bearer(&long_lived, ListAssetsRequest::default()))
        .await
        .expect_err("too long a life");
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    assert!(refused.message().contains("lifetime"), "{refused:?}");
    // Another tenant claimed for the same subject: refused.
    let other_tenant = forger.sign(&tillit_auth::Claims {
        tenant: "acme".into(),
        ..honest
    });
    let refused = identity
        .who_am_i(bearer(&other_tenant, WhoAmIRequest::default()))
        .await
        .expect_err("another tenant");
    assert_eq!(refused.code(), Code::Unauthenticated);
}
