//! Login, WhoAmI, refresh rotation and reuse, logout, temporary passwords, JWKS.

use tillit_proto::Vocabulary as _;
use tillit_proto::identity::{
    ChangePasswordRequest, CreateUserRequest, GrantRoleRequest, LogoutRequest, RefreshRequest,
    WhoAmIRequest,
};
use tonic::Code;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Stack, bearer};

#[tokio::test]
async fn a_login_gives_a_token_whose_claims_whoami_shows_and_another_process_accepts() {
    let stack = Stack::start().await;
    let login = stack
        .identity
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    assert_eq!(login.expires_in, 900, "15-minute access tokens");
    assert!(login.refresh_token.starts_with("rt1.internal."));

    let me = stack
        .identity
        .client()
        .await
        .who_am_i(bearer(&login.access_token, WhoAmIRequest::default()))
        .await
        .expect("whoami")
        .into_inner();
    assert_eq!(me.tenant_id, "internal");
    assert_eq!(
        me.roles().map(|r| r.word().to_owned()).collect::<Vec<_>>(),
        vec!["admin".to_owned()]
    );
    assert_eq!(me.email, ADMIN_EMAIL);
    assert_eq!(me.session_version, 1);

    let header = jsonwebtoken::decode_header(&login.access_token).expect("header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert!(header.kid.is_some());
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            login.access_token.split('.').nth(1).expect("payload"),
        )
        .expect("base64"),
    )
    .expect("json");
    assert_eq!(claims["iss"], crate::support::ISSUER);
    assert_eq!(claims["aud"], "tillit");
    assert_eq!(claims["sub"], me.subject.as_str());
    assert_eq!(claims["sv"], 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    for claim in ["nbf", "jti", "tenant", "roles"] {
        assert!(!claims[claim].is_null(), "{claim}");
    }

    let other = stack.second_process().await;
    let caller = other
        .verifier
        .authenticate(&login.access_token)
        .expect("accepted elsewhere");
    assert_eq!(caller.subject, me.subject);
    assert_eq!(caller.tenant.as_str(), "internal");

    let (status, body) = stack.identity.admin_get("/.well-known/jwks.json").await;
    assert!(status.contains("200"), "{status}");
    let jwks: serde_json::Value = serde_json::from_str(&body).expect("jwks json");
    assert_eq!(jwks["keys"][0]["kid"], header.kid.unwrap().as_str());
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
}

#[tokio::test]
async fn a_temporary_password_must_be_changed_before_the_first_login() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let mut client = stack.identity.client().await;
    client
        .create_user(bearer(
            &admin,
            CreateUserRequest {
                tenant_id: "internal".into(),
                email: "new@tillit.test".into(),
                display_name: "New".into(),
                roles: vec![tillit_proto::identity::Role::Employee.into()],
                temporary_password: "temporary-password-1".into(),
                consistency: None,
            },
        ))
        .await
        .expect("create");
    let first = stack
        .identity
        .login("new@tillit.test", "temporary-password-1")
        .await;
    assert_eq!(first.unwrap_err().code(), Code::FailedPrecondition);
    client
        .change_password(ChangePasswordRequest {
            email: "new@tillit.test".into(),
            current_password: "temporary-password-1".into(),
            new_password: "a brand new password".into(),
            consistency: None,
        })
        .await
        .expect("change");
    assert!(
        stack
            .identity
            .login("new@tillit.test", "a brand new password")
            .await
            .is_ok()
    );
    let old = stack
        .identity
        .login("new@tillit.test", "temporary-password-1")
        .await;
    assert_eq!(old.unwrap_err().code(), Code::Unauthenticated);
}

#[tokio::test]
async fn refresh_rotates_rereads_roles_and_a_reused_token_revokes_its_successor() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let (user, login, _) = stack
        .identity
        .create_user(&admin, "internal", "eve@tillit.test", &["employee"])
        .await;
    let mut client = stack.identity.client().await;

    let granted = client
        .grant_role(bearer(
            &admin,
            GrantRoleRequest {
                user_id: user.user_id.clone(),
                role: tillit_proto::identity::Role::Auditor.into(),
                consistency: None,
            },
        ))
        .await
        .expect("grant")
        .into_inner();
    assert!(granted.consistency.is_some());
    let refreshed = client
        .refresh(RefreshRequest {
            refresh_token: login.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect("refresh")
        .into_inner();
    assert_ne!(refreshed.refresh_token, login.refresh_token);
    let me = client
        .who_am_i(bearer(&refreshed.access_token, WhoAmIRequest::default()))
        .await
        .expect("whoami")
        .into_inner();
    assert_eq!(
        me.roles().map(|r| r.word().to_owned()).collect::<Vec<_>>(),
        vec!["employee".to_owned(), "auditor".to_owned()],
        "refresh re-read the roles"
    );

    // The first token was rotated away: presenting it again is a replay.
    let replay = client
        .refresh(RefreshRequest {
            refresh_token: login.refresh_token.clone(),
            consistency: None,
        })
        .await;
    assert_eq!(replay.unwrap_err().code(), Code::Unauthenticated);
    let successor = client
        .refresh(RefreshRequest {
            refresh_token: refreshed.refresh_token.clone(),
            consistency: None,
        })
        .await;
    assert_eq!(
        successor.unwrap_err().code(),
        Code::Unauthenticated,
        "the successor was revoked with the chain"
    );

    // Logout ends a fresh chain.
    let again = stack
        .identity
        .login(
            "eve@tillit.test",
            &crate::support::user_password("eve@tillit.test"),
        )
        .await
        .expect("login");
    client
        .logout(LogoutRequest {
            refresh_token: again.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect("logout");
    let after = client
        .refresh(RefreshRequest {
            refresh_token: again.refresh_token,
            consistency: None,
        })
        .await;
    assert_eq!(after.unwrap_err().code(), Code::Unauthenticated);
    let garbage = client
        .refresh(RefreshRequest {
            refresh_token: "rt1.internal.nope.nope".into(),
            consistency: None,
        })
        .await;
    assert_eq!(garbage.unwrap_err().code(), Code::Unauthenticated);
}

#[tokio::test]
async fn an_unknown_e_mail_and_a_wrong_password_get_the_same_answer_and_no_event() {
    let stack = Stack::start().await;
    let before = crate::support::stream_messages(&stack.nats, "CREDENTIALS").await;
    let unknown = stack
        .identity
        .login("nobody@tillit.test", "whatever-password")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert_eq!(
        crate::support::stream_messages(&stack.nats, "CREDENTIALS").await,
        before,
        "no event for an unknown e-mail"
    );
    let (_, metrics) = stack.identity.admin_get("/metrics").await;
    assert!(
        metrics.contains("tillit_identity_login_unknown_email_total 1"),
        "{metrics}"
    );
    let wrong = stack
        .identity
        .login(ADMIN_EMAIL, "wrong-password-here")
        .await
        .unwrap_err();
    assert_eq!(
        (wrong.code(), wrong.message()),
        (unknown.code(), unknown.message())
    );
    assert_eq!(
        crate::support::stream_messages(&stack.nats, "CREDENTIALS").await,
        before,
        "no event for a wrong password either: failures are counted where they expire"
    );
}
