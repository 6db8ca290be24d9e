//! The audit trail over every service: a scripted sequence, filters, paging, the CSV
//! export and who may read it.

use std::collections::BTreeSet;

use prost::Message as _;
use sha2::Digest as _;
use tillit_integration_tests::field_of;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::Platform;
use tillit_kernel::clock::{from_timestamp, to_timestamp};
use tillit_proto::common::{Actor, ConsistencyToken, PageRequest, Position};
use tillit_proto::identity::{CreateServiceAccountRequest, IssueServiceTokenRequest};
use tillit_proto::kernel::{Commit, Event};
use tillit_proto::reporting::reporting_service_client::ReportingServiceClient;
use tillit_proto::reporting::{
    AuditEntry, AuditFilter, ExportAuditRequest, GetDashboardRequest, QueryAuditRequest,
    VerifyIntegrityRequest,
};
use time::OffsetDateTime;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{
    add_action, client, commits, everything, merge, register_asset, report, triage,
};

fn query(
    filter: AuditFilter,
    page: Option<PageRequest>,
    token: &ConsistencyToken,
) -> QueryAuditRequest {
    QueryAuditRequest {
        filter: Some(filter),
        page,
        consistency: Some(token.clone()),
    }
}

/// Every entry the filter selects, page by page (`size` a page), in the order served.
async fn all_pages(
    reporting: &mut ReportingServiceClient<Channel>,
    token: &str,
    filter: AuditFilter,
    size: u32,
    consistency: &ConsistencyToken,
) -> Vec<AuditEntry> {
    let mut entries = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = reporting
            .query_audit(bearer(
                token,
                query(
                    filter.clone(),
                    Some(PageRequest {
                        page_size: size,
                        page_token: page_token.clone(),
                    }),
                    consistency,
                ),
            ))
            .await
            .expect("audit page")
            .into_inner();
        assert!(page.entries.len() <= size as usize);
        entries.extend(page.entries);
        page_token = page.page.unwrap_or_default().next_page_token;
        if page_token.is_empty() {
            return entries;
        }
    }
}

fn at(entry: &AuditEntry) -> OffsetDateTime {
    entry
        .recorded_at
        .as_ref()
        .and_then(from_timestamp)
        .expect("recorded at")
}

fn key(entry: &AuditEntry) -> (String, u64) {
    let position = entry.position.clone().expect("position");
    (position.stream, position.sequence)
}

#[tokio::test]
async fn a_scripted_sequence_across_services_appears_with_its_actors_commands_and_times() {
    let platform = Platform::start().await;
    let (reporting_service, _data) = platform.reporting(time::Duration::ZERO).await;
    let mut reporting = client(&reporting_service).await;
    let (officer, officer_id) = platform.officer.clone();
    let (employee, employee_id) = platform.employee.clone();

    let started = OffsetDateTime::now_utc() - time::Duration::milliseconds(1);
    let (asset, t1) = register_asset(&platform, "acme", "Mail hosting").await;
    let (incident, t2) = report(&platform, &employee, "Laptop left on the train").await;
    let t3 = triage(&platform, &incident, "high", &[&asset], &merge(&[&t1, &t2])).await;
    let t4 = add_action(&platform, &incident, 14).await;
    let finished = OffsetDateTime::now_utc() + time::Duration::milliseconds(1);
    let token = merge(&[&t1, &t2, &t3, &t4]);

    let since = reporting
        .query_audit(bearer(
            &platform.auditor,
            query(
                AuditFilter {
                    from: Some(to_timestamp(started)),
                    ..Default::default()
                },
                None,
                &token,
            ),
        ))
        .await
        .expect("auditor reads the trail")
        .into_inner()
        .entries;
    let seen: Vec<(&str, &str)> = since
        .iter()
        .map(|e| {
            (
                e.command.as_str(),
                e.actor.as_ref().map_or("", |a| a.subject.as_str()),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("tillit.incidents.v1.AddAction", officer_id.as_str()),
            ("tillit.incidents.v1.TriageIncident", officer_id.as_str()),
            ("tillit.incidents.v1.ReportIncident", employee_id.as_str()),
            ("tillit.assets.v1.RegisterAsset", officer_id.as_str()),
            // The asset's unique name, reserved before the asset is created.
            ("tillit.kernel.v1.Reserve", officer_id.as_str()),
        ],
        "newest first, exactly the commits of the four commands"
    );
    let aggregates: Vec<&str> = since[..4].iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(aggregates, [&incident, &incident, &incident, &asset]);
    for entry in &since {
        let when = at(entry);
        assert!(
            started <= when && when <= finished,
            "{when} outside the run"
        );
        let actor = entry.actor.clone().unwrap_or_default();
        assert_eq!(actor.tenant, "internal");
        assert!(!entry.commit_hash.is_empty() && !entry.event_types.is_empty());
    }
    assert_eq!(since[3].tenant_id, "acme", "the asset lives in acme's log");
    assert_eq!(since[3].position.clone().unwrap().stream, "ASSETS");
    assert_eq!(since[2].actor.clone().unwrap().roles, ["employee"]);
    assert_eq!(
        since[1].event_types[0],
        "tillit.incidents.v1.IncidentTriaged"
    );
    assert!(
        since[1].event_types[1..]
            .iter()
            .all(|t| t == "tillit.incidents.v1.ObligationArisen"),
        "a breach of a customer's data gives rise to obligations in the same commit: {:?}",
        since[1].event_types
    );
    assert_eq!(since[0].event_types, ["tillit.incidents.v1.ActionAdded"]);

    // Paging returns every commit of every stream exactly once, newest first.
    let everything = everything(&platform).await;
    let all = all_pages(
        &mut reporting,
        &officer,
        AuditFilter::default(),
        7,
        &everything,
    )
    .await;
    assert_eq!(all.len() as u64, commits(&platform).await);
    let unique: BTreeSet<_> = all.iter().map(key).collect();
    assert_eq!(unique.len(), all.len(), "an entry served twice");
    assert!(
        all.windows(2).all(|w| at(&w[0]) >= at(&w[1])),
        "not newest first"
    );
    for stream in crate::support::STREAMS {
        if stream != "REPORTING" {
            assert!(
                unique.iter().any(|(s, _)| s == stream),
                "nothing of {stream}"
            );
        }
    }

    // Filtering by actor returns exactly theirs.
    let theirs = all_pages(
        &mut reporting,
        &officer,
        AuditFilter {
            actor: employee_id.clone(),
            ..Default::default()
        },
        3,
        &everything,
    )
    .await;
    let expected: Vec<_> = all
        .iter()
        .filter(|e| {
            e.actor
                .as_ref()
                .is_some_and(|a| a.subject == employee_id || a.on_behalf_of == employee_id)
        })
        .map(key)
        .collect();
    assert!(expected.len() >= 2, "the employee's login and report");
    assert_eq!(theirs.iter().map(key).collect::<Vec<_>>(), expected);
    assert!(
        theirs
            .iter()
            .any(|e| e.position.as_ref().unwrap().stream == "CREDENTIALS"),
        "the login is in the trail by its envelope"
    );

    // Tenant, aggregate, command and stream filters narrow the same way.
    let filters = [
        AuditFilter {
            tenant_id: "acme".into(),
            ..Default::default()
        },
        AuditFilter {
            aggregate_id: incident.clone(),
            ..Default::default()
        },
        AuditFilter {
            command: "tillit.assets.v1.RegisterAsset".into(),
            ..Default::default()
        },
        AuditFilter {
            stream: "credentials".into(),
            actor: employee_id.clone(),
            ..Default::default()
        },
        AuditFilter {
            from: Some(to_timestamp(started)),
            to: Some(to_timestamp(at(&since[1]))),
            ..Default::default()
        },
    ];
    for filter in filters {
        let got = all_pages(&mut reporting, &officer, filter.clone(), 500, &everything).await;
        let wanted: Vec<_> = all
            .iter()
            .filter(|e| {
                (filter.tenant_id.is_empty() || e.tenant_id == filter.tenant_id)
                    && (filter.aggregate_id.is_empty() || e.aggregate_id == filter.aggregate_id)
                    && (filter.command.is_empty() || e.command == filter.command)
                    && (filter.stream.is_empty()
                        || e.position.as_ref().unwrap().stream == "CREDENTIALS")
                    && (filter.actor.is_empty()
                        || e.actor.as_ref().unwrap().subject == filter.actor)
                    && filter
                        .from
                        .is_none_or(|from| at(e) >= from_timestamp(&from).unwrap())
                    && filter
                        .to
                        .is_none_or(|to| at(e) < from_timestamp(&to).unwrap())
            })
            .map(key)
            .collect();
        assert!(!wanted.is_empty(), "{filter:?} selects something");
        assert_eq!(
            got.iter().map(key).collect::<Vec<_>>(),
            wanted,
            "{filter:?}"
        );
    }

    // Bad filters name their field and a foreign page token is refused.
    for (filter, field) in [
        (
            AuditFilter {
                tenant_id: "No Such Slug".into(),
                ..Default::default()
            },
            "filter.tenant_id",
        ),
        (
            AuditFilter {
                stream: "SECRETS".into(),
                ..Default::default()
            },
            "filter.stream",
        ),
        (
            AuditFilter {
                from: Some(to_timestamp(finished)),
                to: Some(to_timestamp(started)),
                ..Default::default()
            },
            "filter.to",
        ),
    ] {
        let refused = reporting
            .query_audit(bearer(&officer, query(filter, None, &token)))
            .await
            .expect_err("a bad filter");
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(field_of(&refused), field);
    }
    let refused = reporting
        .query_audit(bearer(
            &officer,
            query(
                AuditFilter::default(),
                Some(PageRequest {
                    page_size: 5,
                    page_token: "bm90LWEtdG9rZW4".into(),
                }),
                &token,
            ),
        ))
        .await
        .expect_err("a foreign token");
    assert_eq!(field_of(&refused), "page.page_token");
}

#[tokio::test]
async fn customers_employees_and_service_accounts_without_the_permission_are_denied() {
    let platform = Platform::start().await;
    let (reporting_service, _data) = platform.reporting(time::Duration::ZERO).await;
    let mut reporting = client(&reporting_service).await;

    // A service account of `internal` holding only the employee role.
    let admin = platform._identity.admin_token().await;
    let mut identity = platform._identity.client().await;
    let created = identity
        .create_service_account(bearer(
            &admin,
            CreateServiceAccountRequest {
                tenant_id: "internal".into(),
                name: "ticketing".into(),
                roles: vec![tillit_proto::identity::Role::Employee.into()],
                consistency: None,
            },
        ))
        .await
        .expect("service account")
        .into_inner();
    let service = identity
        .issue_service_token(IssueServiceTokenRequest {
            client_id: created.client_id.clone(),
            client_secret: created.client_secret.clone(),
            consistency: created.consistency.clone(),
        })
        .await
        .expect("service token")
        .into_inner()
        .access_token;

    let token = everything(&platform).await;
    for (who, bearer_token) in [
        ("customer", platform.alice.as_str()),
        ("employee", platform.employee.0.as_str()),
        ("service account", service.as_str()),
    ] {
        let denied = reporting
            .query_audit(bearer(
                bearer_token,
                query(AuditFilter::default(), None, &token),
            ))
            .await
            .expect_err(who);
        assert_eq!(denied.code(), Code::PermissionDenied, "{who}: {denied:?}");
        let denied = reporting
            .export_audit(bearer(bearer_token, ExportAuditRequest::default()))
            .await
            .expect_err(who);
        assert_eq!(denied.code(), Code::PermissionDenied, "{who}");
        let denied = reporting
            .verify_integrity(bearer(
                bearer_token,
                VerifyIntegrityRequest {
                    stream: "ASSETS".into(),
                    ..Default::default()
                },
            ))
            .await
            .expect_err(who);
        assert_eq!(denied.code(), Code::PermissionDenied, "{who}");
        let denied = reporting
            .get_dashboard(bearer(bearer_token, GetDashboardRequest::default()))
            .await
            .expect_err(who);
        assert_eq!(denied.code(), Code::PermissionDenied, "{who}");
    }
    let unauthenticated = reporting
        .query_audit(QueryAuditRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(unauthenticated.code(), Code::Unauthenticated);
    for allowed in [&platform.auditor, &platform.officer.0, &admin] {
        let entries = reporting
            .query_audit(bearer(allowed, query(AuditFilter::default(), None, &token)))
            .await
            .expect("allowed")
            .into_inner()
            .entries;
        assert!(!entries.is_empty());
    }
}

/// Publishes `count` one-commit aggregates straight into REPORTING (the trail takes every
/// commit of the stream); answers the payload of the first and the last sequence.
async fn publish_commits(platform: &Platform, count: usize) -> (Vec<u8>, u64) {
    let js = async_nats::jetstream::new(platform.nats.client().await);
    let mut first = Vec::new();
    let mut last = 0;
    let mut acks = Vec::new();
    for n in 0..count {
        let id = uuid::Uuid::now_v7().to_string();
        let commit = Commit {
            commit_id: uuid::Uuid::now_v7().to_string(),
            tenant: "internal".into(),
            aggregate_type: "export_probe".into(),
            aggregate_id: id.clone(),
            aggregate_version: 1,
            actor: Some(Actor {
                subject: "system".into(),
                tenant: "internal".into(),
                ..Default::default()
            }),
            recorded_at: Some(to_timestamp(OffsetDateTime::now_utc())),
            command: "tillit.test.v1.Probe".into(),
            correlation_id: format!("probe \"{n}\", with a comma"),
            events: vec![Event {
                r#type: "tillit.test.v1.Probed".into(),
                schema_version: 1,
                payload: vec![1, 2, 3],
            }],
            ..Default::default()
        }
        .encode_to_vec();
        if n == 0 {
            first = commit.clone();
        }
        acks.push(
            js.publish(
                format!("tillit.reporting.internal.export_probe.{id}"),
                commit.into(),
            )
            .await
            .expect("publish"),
        );
        if acks.len() == 500 || n + 1 == count {
            for ack in acks.drain(..) {
                last = ack.await.expect("ack").sequence;
            }
        }
    }
    (first, last)
}

#[tokio::test]
async fn an_export_of_ten_thousand_entries_streams_as_csv_in_pieces() {
    let platform = Platform::start().await;
    let (reporting_service, _data) = platform.reporting(time::Duration::ZERO).await;
    let mut reporting = client(&reporting_service).await;
    let (first, last) = publish_commits(&platform, 10_000).await;
    let token = ConsistencyToken {
        positions: vec![Position {
            stream: "REPORTING".into(),
            sequence: last,
        }],
    };
    let mut stream = reporting
        .export_audit(bearer(
            &platform.auditor,
            ExportAuditRequest {
                filter: Some(AuditFilter {
                    stream: "REPORTING".into(),
                    ..Default::default()
                }),
                consistency: Some(token),
            },
        ))
        .await
        .expect("export")
        .into_inner();
    let mut csv = Vec::new();
    let mut pieces = 0;
    let mut counted = 0;
    while let Some(piece) = stream.message().await.expect("piece") {
        pieces += 1;
        counted += piece.entries;
        assert!(piece.csv.ends_with(b"\n"), "a piece ends with a whole line");
        csv.extend(piece.csv);
    }
    assert_eq!(counted, 10_000);
    assert!(pieces >= 20, "{pieces} pieces: not streamed");
    let text = String::from_utf8(csv).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "recorded_at,stream,sequence,actor,actor_tenant,actor_roles,on_behalf_of,command,\
             aggregate_type,aggregate_id,tenant,event_types,aggregate_version,commit_id,\
             correlation_id,commit_hash,actor_erased"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 10_000);
    // The oldest comes last; its hash is the SHA-256 of the bytes in the log.
    let oldest = rows.last().expect("a row");
    assert!(oldest.contains(",REPORTING,1,system,internal,,,tillit.test.v1.Probe,export_probe,"));
    assert!(
        oldest.contains(",\"probe \"\"0\"\", with a comma\","),
        "{oldest}"
    );
    // New columns come last, so existing readers keep their positions.
    assert!(oldest.ends_with(&format!(
        "{},false",
        hex::encode(sha2::Sha256::digest(&first))
    )));
}
