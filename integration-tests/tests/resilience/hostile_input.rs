//! Hostile input at the edge: nothing a caller sends reaches NATS unvalidated, and no
//! error tells a caller how long a stream is.
use tillit_proto::assets::AssetKind;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{AssetImpact, IncidentKind, TriageAssessment};

use tillit_integration_tests::field_of;
use tillit_integration_tests::identity::{ADMIN_EMAIL, ADMIN_PASSWORD, Stack, bearer};
use tillit_integration_tests::platform::Platform;
use tillit_proto::assets::{
    Classification, ImportAssetsRequest, ListAssetsRequest, Processing, RecordProcessingRequest,
    RegisterAssetRequest,
};
use tillit_proto::common::PageRequest;
use tillit_proto::common::{ConsistencyToken, Position};
use tillit_proto::identity::{
    CreateUserRequest, ListTenantsRequest, ListUsersRequest, LoginRequest,
};
use tillit_proto::incidents::{
    AddActionRequest, GetIncidentRequest, ListIncidentsRequest, ReportIncidentRequest,
    TriageIncidentRequest,
};
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
            kind: IncidentKind::Deviation.into(),
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

fn asset_request(name: &str) -> RegisterAssetRequest {
    RegisterAssetRequest {
        tenant_id: "acme".into(),
        name: name.into(),
        kind: AssetKind::Database.into(),
        owner_user_id: String::new(),
        description: "line one\nline two".into(),
        classification: Some(Classification {
            confidentiality: 2,
            integrity: 2,
            availability: 2,
        }),
        classification_rationale: "initial".into(),
        consistency: None,
    }
}

/// Every commit of the platform's streams, to show that a refusal changed nothing.
async fn all_commits(platform: &Platform) -> u64 {
    let mut total = 0;
    for stream in ["IDENTITY", "CREDENTIALS", "ASSETS", "INCIDENTS"] {
        total += tillit_integration_tests::platform::stream_messages(&platform.nats, stream).await;
    }
    total
}

#[tokio::test]
async fn input_the_log_keeps_forever_is_refused_before_anything_is_decided() {
    let platform = Platform::start().await;
    let officer = &platform.officer.0;
    let mut assets = platform.assets().await;
    let mut incidents = platform.incidents().await;
    let mut identity = platform._identity.client().await;
    let admin = platform._identity.admin_token().await;
    let before = all_commits(&platform).await;

    // Names that hide or break what they say.
    for name in [
        "invoice\u{202E}fdp.exe",
        "a\u{1b}[31mred",
        "nul\u{0}byte",
        "two\nlines",
        "ad\u{200B}min",
    ] {
        let refused = assets
            .register_asset(bearer(officer, asset_request(name)))
            .await
            .expect_err(name);
        assert_eq!(
            (refused.code(), field_of(&refused).as_str()),
            (Code::InvalidArgument, "name"),
            "{name:?}"
        );
    }
    // A full-width look-alike of an existing address is that address.
    let look_alike = identity
        .create_user(bearer(
            &admin,
            CreateUserRequest {
                tenant_id: "internal".into(),
                email: "\u{ff41}dmin@tillit.test".into(),
                display_name: "Not the admin".into(),
                roles: vec![tillit_proto::identity::Role::Employee.into()],
                temporary_password: "temporary-password-1".into(),
                consistency: None,
            },
        ))
        .await
        .expect_err("a look-alike account");
    assert_eq!(look_alike.code(), Code::AlreadyExists, "{look_alike:?}");

    // Lists without end.
    let asset = assets
        .register_asset(bearer(officer, asset_request("Acme CRM")))
        .await
        .expect("a plain asset")
        .into_inner();
    let after_asset = all_commits(&platform).await;
    let many: Vec<String> = (0..100_000).map(|n| format!("category {n}")).collect();
    let refused = assets
        .record_processing(bearer(
            officer,
            RecordProcessingRequest {
                asset_id: asset.asset.clone().expect("asset").asset_id,
                processing: Some(Processing {
                    data_categories: many,
                    data_subjects: vec!["customers".into()],
                    purpose: "crm".into(),
                    retention: "3 years".into(),
                    ..Default::default()
                }),
                consistency: asset.consistency.clone(),
            },
        ))
        .await
        .expect_err("100 000 categories");
    assert_eq!(
        field_of(&refused),
        "processing.data_categories",
        "{refused:?}"
    );

    // Times outside the calendar or any sane window.
    let reported = incidents
        .report_incident(bearer(
            officer,
            ReportIncidentRequest {
                kind: IncidentKind::Deviation.into(),
                title: "Door left open".into(),
                description: "The server room door".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("report")
        .into_inner();
    let after_report = all_commits(&platform).await;
    for (seconds, nanos) in [
        (-62_135_596_800, 0),
        (i64::MIN, 0),
        (0, -5),
        (253_402_300_800, 0),
    ] {
        let refused = incidents
            .add_action(bearer(
                officer,
                AddActionRequest {
                    incident_id: reported.incident_id.clone(),
                    title: "Fix the lock".into(),
                    owner_user_id: platform.officer.1.clone(),
                    due_at: Some(prost_types::Timestamp { seconds, nanos }),
                    consistency: reported.consistency.clone(),
                },
            ))
            .await
            .expect_err("a due date out of this world");
        assert_eq!(
            (refused.code(), field_of(&refused).as_str()),
            (Code::InvalidArgument, "due_at"),
            "{seconds}"
        );
    }
    let refused = incidents
        .triage_incident(bearer(
            officer,
            TriageIncidentRequest {
                incident_id: reported.incident_id.clone(),
                triage: Some(TriageAssessment {
                    severity: Severity::Low.into(),
                    affected_assets: (0..100_000)
                        .map(|n| AssetImpact {
                            asset_id: format!("asset-{n}"),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
                consistency: None,
            },
        ))
        .await
        .expect_err("100 000 affected assets");
    assert_eq!(field_of(&refused), "triage.affected_assets", "{refused:?}");

    // A 26 000-row import creates nothing at all.
    let mut csv = String::from("tenant,name,kind,owner_email,c,i,a\n");
    for n in 0..26_000 {
        csv.push_str(&format!("acme,Imported {n},server,,1,1,1\n"));
    }
    let refused = assets
        .import_assets(bearer(
            officer,
            ImportAssetsRequest {
                csv,
                consistency: None,
            },
        ))
        .await
        .expect_err("too many rows");
    assert_eq!(field_of(&refused), "csv");

    // Page tokens that are not ours.
    let page = Some(PageRequest {
        page_size: 10,
        page_token: "%%%not-a-token".into(),
    });
    let listed = assets
        .list_assets(bearer(
            officer,
            ListAssetsRequest {
                page: page.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad token");
    assert_eq!(field_of(&listed), "page.page_token");
    let listed = incidents
        .list_incidents(bearer(
            officer,
            ListIncidentsRequest {
                page: page.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad token");
    assert_eq!(field_of(&listed), "page.page_token");
    let listed = identity
        .list_users(bearer(
            &admin,
            ListUsersRequest {
                page,
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad token");
    assert_eq!(field_of(&listed), "page.page_token");

    assert_eq!(
        after_asset,
        before + 2,
        "only the plain asset (and its name reservation)"
    );
    assert_eq!(
        all_commits(&platform).await,
        after_report,
        "no refusal changed anything"
    );
}
