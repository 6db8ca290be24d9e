//! Tokens that must be refused: every forgery and mistake the verifier guards against, and
//! a token of a retired key. Forged tokens are signed with the service's own dev key file
//! (so only the one property under test is wrong).

use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use tillit_auth::{AuthError, Claims};
use tillit_integration_tests::identity::{Forger, claims_of};
use tillit_proto::identity::{RetireSigningKeyRequest, WhoAmIRequest};
use tonic::Code;

use crate::support::{ADMIN_EMAIL, ADMIN_PASSWORD, Stack, bearer, start_identity, test_config};

fn refused(result: Result<tillit_auth::Caller, AuthError>) -> bool {
    // Unknown keys and principals are a variant of their own (the view may be behind);
    // both become UNAUTHENTICATED.
    matches!(
        result,
        Err(AuthError::Unauthenticated(_) | AuthError::Unknown(_))
    )
}

#[tokio::test]
async fn forged_expired_and_misaddressed_tokens_are_unauthenticated() {
    let stack = Stack::start().await;
    let login = stack
        .identity
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    let kid = jsonwebtoken::decode_header(&login.access_token)
        .expect("header")
        .kid
        .expect("kid");
    let forger = Forger::from_file(&stack.data.path().join("identity-signing-key.pem"), &kid);
    let good = claims_of(&login.access_token);
    let other = stack.second_process().await;
    assert!(
        other.verifier.authenticate(&forger.sign(&good)).is_ok(),
        "the forger's control token is valid"
    );

    let unknown = Forger {
        key: ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
        kid: "0123456789abcdef".into(),
    };
    let mut flipped = login.access_token.clone().into_bytes();
    let last = flipped.len() - 5;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let mut cases = forger.attacks(&good);
    cases.extend([
        ("unknown kid", unknown.sign(&good)),
        (
            "one flipped signature byte",
            String::from_utf8(flipped).expect("ascii"),
        ),
        (
            "another tenant claimed",
            forger.sign(&Claims {
                tenant: "acme".into(),
                ..good.clone()
            }),
        ),
    ]);
    let mut client = stack.identity.client().await;
    for (name, token) in cases {
        assert!(
            refused(other.verifier.authenticate(&token)),
            "second process accepted: {name}"
        );
        let status = client
            .who_am_i(bearer(&token, WhoAmIRequest::default()))
            .await
            .expect_err(name);
        assert_eq!(status.code(), Code::Unauthenticated, "{name}: {status:?}");
    }
    let missing = client
        .who_am_i(WhoAmIRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(missing.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn after_rotation_the_old_key_verifies_until_it_is_retired() {
    let mut stack = Stack::start().await;
    let old = stack
        .identity
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login")
        .access_token;
    let old_kid = jsonwebtoken::decode_header(&old)
        .expect("header")
        .kid
        .expect("kid");

    // Rotation: a new key file, identity restarted with it.
    stack.identity.stop().await;
    let new_key = ed25519_dalek::SigningKey::from_bytes(&[42; 32]);
    let key_file = stack.data.path().join("rotated.pem");
    std::fs::write(
        &key_file,
        new_key
            .to_pkcs8_pem(Default::default())
            .expect("pem")
            .as_bytes(),
    )
    .expect("key file");
    let key_path = key_file.display().to_string();
    let config = test_config(
        &stack.nats.url(),
        stack.data.path(),
        &[("TILLIT_IDENTITY_SIGNING_KEY_FILE", key_path.as_str())],
    );
    stack.identity = start_identity(config).await;

    let new = stack
        .identity
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login")
        .access_token;
    let new_kid = jsonwebtoken::decode_header(&new)
        .expect("header")
        .kid
        .expect("kid");
    assert_ne!(new_kid, old_kid, "the new key signs");
    let other = stack.second_process().await;
    assert!(
        other.verifier.authenticate(&old).is_ok(),
        "the old key still verifies"
    );

    let retired = stack
        .identity
        .client()
        .await
        .retire_signing_key(bearer(
            &new,
            RetireSigningKeyRequest {
                kid: old_kid,
                consistency: None,
            },
        ))
        .await
        .expect("retire")
        .into_inner();
    other.caught_up(&retired.consistency.expect("token")).await;
    assert!(
        refused(other.verifier.authenticate(&old)),
        "a retired key's token is refused"
    );
    assert!(other.verifier.authenticate(&new).is_ok());
}
