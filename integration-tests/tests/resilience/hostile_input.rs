//! Hostile input at the edge: nothing a caller sends reaches NATS unvalidated, and no
//! error tells a caller how long a stream is.

use tillit_integration_tests::field_of;
use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD, Stack, bearer};
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_proto::identity::{ListTenantsRequest, LoginRequest};
use tonic::Code;

fn token(stream: &str, sequence: u64) -> Option<ConsistencyToken> {
    Some(ConsistencyToken {
        positions: vec![Position {
            stream: stream.to_owned(),
            sequence,
        }],
    })
}

#[tokio::test]
async fn stream_names_in_consistency_tokens_are_refused_before_they_reach_nats() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let mut client = stack.identity.client().await;
    let long = "A".repeat(5000);
    for hostile in [
        long.as_str(),
        ">",
        "*",
        "ASSETS.>",
        "",
        "ASSETS\r\nPUB x 1",
        "IDENTITY\n",
    ] {
        // Unauthenticated, at a public method: anyone on the network can send this.
        let refused = client
            .login(LoginRequest {
                email: "nobody@tillit.test".into(),
                password: "whatever-password".into(),
                consistency: token(hostile, 1),
            })
            .await
            .expect_err("a hostile stream name");
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{hostile:?}: {refused:?}"
        );
        assert_eq!(
            field_of(&refused),
            "consistency.positions[0].stream",
            "{hostile:?}"
        );
        // The service's NATS connection survived: another user's call works at once.
        client
            .list_tenants(bearer(&admin, ListTenantsRequest::default()))
            .await
            .unwrap_or_else(|e| panic!("after {:?}: {e}", hostile.get(..20)));
        stack
            .identity
            .login(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .expect("logins still work");
    }
    let many = ConsistencyToken {
        positions: (0..17)
            .map(|_| Position {
                stream: "IDENTITY".into(),
                sequence: 1,
            })
            .collect(),
    };
    let refused = client
        .list_tenants(bearer(
            &admin,
            ListTenantsRequest {
                consistency: Some(many),
                ..Default::default()
            },
        ))
        .await
        .expect_err("too many positions");
    assert_eq!(field_of(&refused), "consistency.positions");
}

#[tokio::test]
async fn a_position_beyond_the_end_does_not_tell_the_streams_length() {
    let stack = Stack::start().await;
    let mut client = stack.identity.client().await;
    let length = tillit_integration_tests::platform::stream_messages(&stack.nats, "IDENTITY").await;
    for stream in ["IDENTITY", "CREDENTIALS", "NOSUCHSTREAM"] {
        let refused = client
            .login(LoginRequest {
                email: "nobody@tillit.test".into(),
                password: "whatever-password".into(),
                consistency: token(stream, 1_000_000),
            })
            .await
            .expect_err("beyond the end");
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{stream}: {refused:?}"
        );
        let message = refused.message().replace("[0]", "");
        assert!(
            !message.chars().any(|c| c.is_ascii_digit()),
            "{stream}: the message states a number (IDENTITY holds {length}): {message}"
        );
    }
}
