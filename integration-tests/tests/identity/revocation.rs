//! Revocation is immediate: after a deactivation or a role revocation, another process
//! refuses the user's unexpired token as soon as it has applied the change. The delay is
//! measured from the command's answer to the other process refusing, and printed.

use std::time::{Duration, Instant};

use tillit_proto::common::ConsistencyToken;
use tillit_proto::identity::{DeactivateUserRequest, RevokeRoleRequest, WhoAmIRequest};
use tonic::Code;

use crate::support::{SecondProcess, Stack, bearer};

/// From the answer of a revoking command until `other` refuses `token`.
async fn refusal_delay(
    other: &SecondProcess,
    answered: Instant,
    applied: &ConsistencyToken,
    token: &str,
) -> Duration {
    other.caught_up(applied).await;
    let delay = answered.elapsed();
    assert!(
        other.verifier.authenticate(token).is_err(),
        "refused once applied"
    );
    delay
}

#[tokio::test]
async fn a_deactivated_users_token_is_refused_by_another_process_within_milliseconds() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let (user, login, created) = stack
        .identity
        .create_user(&admin, "internal", "leaver@tillit.test", &["employee"])
        .await;
    let other = stack.second_process().await;
    other.caught_up(&created).await;
    assert!(other.verifier.authenticate(&login.access_token).is_ok());

    let deactivated = stack
        .identity
        .client()
        .await
        .deactivate_user(bearer(
            &admin,
            DeactivateUserRequest {
                user_id: user.user_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("deactivate")
        .into_inner();
    let answered = Instant::now();
    let delay = refusal_delay(
        &other,
        answered,
        &deactivated.consistency.expect("token"),
        &login.access_token,
    )
    .await;
    eprintln!("revocation delay after DeactivateUser: {delay:?}");
    assert!(delay < Duration::from_secs(5), "{delay:?}");

    let who = stack
        .identity
        .client()
        .await
        .who_am_i(bearer(&login.access_token, WhoAmIRequest::default()))
        .await;
    assert_eq!(
        who.unwrap_err().code(),
        Code::Unauthenticated,
        "identity refuses it too"
    );
    let again = stack
        .identity
        .login(
            "leaver@tillit.test",
            &crate::support::user_password("leaver@tillit.test"),
        )
        .await;
    assert_eq!(
        again.unwrap_err().code(),
        Code::Unauthenticated,
        "a deactivated user cannot log in"
    );
}

#[tokio::test]
async fn a_revoked_roles_old_token_is_refused_by_another_process() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let (user, login, created) = stack
        .identity
        .create_user(
            &admin,
            "internal",
            "boss@tillit.test",
            &["employee", "manager"],
        )
        .await;
    let other = stack.second_process().await;
    other.caught_up(&created).await;
    assert!(other.verifier.authenticate(&login.access_token).is_ok());

    let revoked = stack
        .identity
        .client()
        .await
        .revoke_role(bearer(
            &admin,
            RevokeRoleRequest {
                user_id: user.user_id.clone(),
                role: tillit_proto::identity::Role::Manager.into(),
                consistency: None,
            },
        ))
        .await
        .expect("revoke")
        .into_inner();
    let answered = Instant::now();
    let delay = refusal_delay(
        &other,
        answered,
        &revoked.consistency.expect("token"),
        &login.access_token,
    )
    .await;
    eprintln!("revocation delay after RevokeRole: {delay:?}");

    // Logging in again gives a token without the role, which is accepted.
    let fresh = stack
        .identity
        .login(
            "boss@tillit.test",
            &crate::support::user_password("boss@tillit.test"),
        )
        .await
        .expect("login");
    let caller = other
        .verifier
        .authenticate(&fresh.access_token)
        .expect("new token accepted");
    assert_eq!(
        caller.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        vec!["employee"]
    );
}
