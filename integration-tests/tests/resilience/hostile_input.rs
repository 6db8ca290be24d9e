//! Hostile input at the edge: nothing a caller sends reaches NATS unvalidated, and no
//! error tells a caller how long a stream is.

use tillit_integration_tests::field_of;
use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD, Stack, bearer};
use tillit_integration_tests::platform::Platform;
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_proto::identity::{ListTenantsRequest, LoginRequest};
use tillit_proto::incidents::{GetIncidentRequest, ReportIncidentRequest};
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

/// A report with an idempotency key.
fn keyed_report(token: &str, key: &str, title: &str) -> tonic::Request<ReportIncidentRequest> {
    let mut request = bearer(
        token,
        ReportIncidentRequest {
            kind: "deviation".into(),
            title: title.into(),
            description: format!("{title}, as reported"),
            ..Default::default()
        },
    );
    request
        .metadata_mut()
        .insert("idempotency-key", key.parse().expect("ascii"));
    request
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_its_caller() {
    let platform = Platform::start().await;
    let mut incidents = platform.incidents().await;
    let officer = incidents
        .report_incident(keyed_report(
            &platform.officer.0,
            "report-1",
            "Officer's report",
        ))
        .await
        .expect("officer")
        .into_inner();
    // The employee happens to (or means to) use the same key.
    let employee = incidents
        .report_incident(keyed_report(
            &platform.employee.0,
            "report-1",
            "Employee's report",
        ))
        .await
        .expect("employee")
        .into_inner();
    assert_ne!(
        employee.incident_id, officer.incident_id,
        "the employee's own report was made"
    );
    let seen = incidents
        .get_incident(bearer(
            &platform.employee.0,
            GetIncidentRequest {
                incident_id: employee.incident_id.clone(),
                consistency: employee.consistency.clone(),
            },
        ))
        .await
        .expect("the employee sees its report")
        .into_inner()
        .incident
        .expect("incident");
    assert_eq!(seen.title, "Employee's report");
    // A retry by the same caller is still the same command.
    let again = incidents
        .report_incident(keyed_report(
            &platform.employee.0,
            "report-1",
            "Employee's report",
        ))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again.incident_id, employee.incident_id);
    let unrelated = incidents
        .get_incident(bearer(
            &platform.employee.0,
            GetIncidentRequest {
                incident_id: officer.incident_id,
                consistency: None,
            },
        ))
        .await
        .expect_err("the officer's report is not the employee's");
    assert_eq!(unrelated.code(), Code::NotFound);
}
