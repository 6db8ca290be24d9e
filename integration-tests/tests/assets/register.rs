//! Registering, validating, importing, point-in-time reads, isolation, records of processing,
//! gaps and read-your-writes.

use tillit_integration_tests::field_of;
use tillit_integration_tests::identity::bearer;
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::AssetKind;
use tillit_proto::assets::record_evidence_request::Evidence;
use tillit_proto::assets::{
    BackupRunRecorded, BackupScheduleSet, Classification, ClassifyAssetRequest, GetAssetRequest,
    GetControlGapsRequest, GetProcessingRecordRequest, ImportAssetsRequest, ListAssetsRequest,
    MonitoringSet, Processing, RecordEvidenceRequest, RecordProcessingRequest,
    RegisterAssetRequest, RestoreTestRecorded,
};
use tonic::Code;

use crate::support::{Platform, stream_messages};

fn register(tenant: &str, name: &str, levels: (u32, u32, u32)) -> RegisterAssetRequest {
    RegisterAssetRequest {
        tenant_id: tenant.into(),
        name: name.into(),
        kind: AssetKind::Database.into(),
        owner_user_id: String::new(),
        description: format!("{name} of {tenant}"),
        classification: Some(Classification {
            confidentiality: levels.0,
            integrity: levels.1,
            availability: levels.2,
        }),
        classification_rationale: "initial".into(),
        consistency: None,
    }
}

fn timestamp(at: time::OffsetDateTime) -> Option<prost_types::Timestamp> {
    Some(tillit_kernel::clock::to_timestamp(at))
}

#[tokio::test]
async fn invalid_registrations_name_the_field_and_append_nothing() {
    let platform = Platform::start().await;
    let mut client = platform.assets().await;
    let officer = &platform.officer.0;
    let before = stream_messages(&platform.nats, "ASSETS").await;
    let cases = [
        (
            "classification.confidentiality",
            RegisterAssetRequest {
                classification: Some(Classification {
                    confidentiality: 0,
                    integrity: 2,
                    availability: 2,
                }),
                ..register("acme", "db", (1, 1, 1))
            },
        ),
        (
            "classification.availability",
            RegisterAssetRequest {
                classification: Some(Classification {
                    confidentiality: 2,
                    integrity: 2,
                    availability: 5,
                }),
                ..register("acme", "db", (1, 1, 1))
            },
        ),
        (
            "name",
            RegisterAssetRequest {
                name: "  ".into(),
                ..register("acme", "db", (1, 1, 1))
            },
        ),
        (
            "owner_user_id",
            RegisterAssetRequest {
                owner_user_id: "0192c3a0-7b7e-7c3e-8f00-0123456789ab".into(),
                ..register("acme", "db", (1, 1, 1))
            },
        ),
        ("tenant_id", register("initech", "db", (1, 1, 1))),
        (
            "kind",
            RegisterAssetRequest {
                kind: 0, // unspecified
                ..register("acme", "db", (1, 1, 1))
            },
        ),
    ];
    for (field, request) in cases {
        let status = client
            .register_asset(bearer(officer, request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert_eq!(field_of(&status), field);
    }
    assert_eq!(
        stream_messages(&platform.nats, "ASSETS").await,
        before,
        "nothing appended"
    );
}

#[tokio::test]
async fn a_commands_token_shows_the_change_at_once_and_as_of_reads_the_past() {
    let platform = Platform::start().await;
    let mut client = platform.assets().await;
    let officer = &platform.officer.0;
    let registered = client
        .register_asset(bearer(officer, register("acme", "CRM", (2, 2, 2))))
        .await
        .expect("register")
        .into_inner();
    let asset_id = registered.asset.expect("asset").asset_id;
    let first = registered.consistency.expect("token");

    let listed = client
        .list_assets(bearer(
            officer,
            ListAssetsRequest {
                consistency: Some(first.clone()),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed
            .assets
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        vec!["CRM"],
        "visible right away"
    );

    let reclassified = client
        .classify_asset(bearer(
            officer,
            ClassifyAssetRequest {
                asset_id: asset_id.clone(),
                classification: Some(Classification {
                    confidentiality: 4,
                    integrity: 3,
                    availability: 2,
                }),
                rationale: "holds health data".into(),
                consistency: None,
            },
        ))
        .await
        .expect("classify")
        .into_inner();
    let now = client
        .get_asset(bearer(
            officer,
            GetAssetRequest {
                asset_id: asset_id.clone(),
                consistency: reclassified.consistency.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .asset
        .expect("asset");
    assert_eq!(now.classification.map(|c| c.confidentiality), Some(4));

    let before = client
        .get_asset(bearer(
            officer,
            GetAssetRequest {
                asset_id: asset_id.clone(),
                as_of_position: Some(first),
                ..Default::default()
            },
        ))
        .await
        .expect("as of the registration")
        .into_inner()
        .asset
        .expect("asset");
    assert_eq!(
        before
            .classification
            .map(|c| (c.confidentiality, c.integrity)),
        Some((2, 2)),
        "the old levels"
    );
    let after = client
        .get_asset(bearer(
            officer,
            GetAssetRequest {
                asset_id: asset_id.clone(),
                as_of_time: timestamp(time::OffsetDateTime::now_utc()),
                ..Default::default()
            },
        ))
        .await
        .expect("as of now")
        .into_inner()
        .asset
        .expect("asset");
    assert_eq!(
        after.classification.map(|c| c.confidentiality),
        Some(4),
        "the new levels"
    );
    let timeline = client
        .get_asset_timeline(bearer(
            officer,
            tillit_proto::assets::GetAssetTimelineRequest {
                asset_id: asset_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("timeline")
        .into_inner();
    let commands: Vec<_> = timeline
        .entries
        .iter()
        .map(|e| (e.command.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        commands,
        vec![
            (
                "tillit.assets.v1.RegisterAsset",
                platform.officer.1.as_str()
            ),
            (
                "tillit.assets.v1.ClassifyAsset",
                platform.officer.1.as_str()
            )
        ],
        "who changed what"
    );
    assert!(
        timeline.entries[1]
            .events
            .iter()
            .any(|e| e == "tillit.assets.v1.AssetClassified")
    );
    let ancient = client
        .get_asset(bearer(
            officer,
            GetAssetRequest {
                asset_id,
                as_of_time: timestamp(time::OffsetDateTime::now_utc() - time::Duration::days(1)),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(ancient.code(), Code::NotFound, "it did not exist yesterday");
}

#[tokio::test]
async fn importing_reports_bad_lines_imports_the_rest_and_a_reimport_appends_nothing() {
    let platform = Platform::start().await;
    let mut client = platform.assets().await;
    let officer = &platform.officer.0;
    let csv = "tenant,name,kind,owner_email,c,i,a,external_key\n\
               acme,Mail relay,server,olle@tillit.test,2,3,3,srv-001\n\
               acme,Broken,server,nobody@tillit.test,2,2,2,\n\
               globex,Billing,saas,erik@tillit.test,3,3,2,\n\
               globex,Levels,saas,erik@tillit.test,2,2,7,\n";
    let first = client
        .import_assets(bearer(
            officer,
            ImportAssetsRequest {
                csv: csv.into(),
                consistency: None,
            },
        ))
        .await
        .expect("import")
        .into_inner();
    let lines: Vec<_> = first
        .errors
        .iter()
        .map(|e| (e.line, e.field.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![(3, "owner_email"), (5, "a")],
        "{:?}",
        first.errors
    );
    assert_eq!((first.created, first.unchanged), (2, 0));
    let outcome = |lines: &[tillit_proto::assets::ImportLine]| -> Vec<(u32, String, &'static str)> {
        lines
            .iter()
            .map(|l| {
                (
                    l.line,
                    l.name.clone(),
                    tillit_proto::Vocabulary::word(l.outcome()),
                )
            })
            .collect()
    };
    assert_eq!(
        outcome(&first.lines),
        vec![
            (2, "Mail relay".to_owned(), "created"),
            (3, "Broken".to_owned(), "refused"),
            (4, "Billing".to_owned(), "created"),
            (5, "Levels".to_owned(), "refused"),
        ],
        "every line in file order"
    );
    assert!(
        first.lines[0].asset_id.len() > 10,
        "a created line names its asset"
    );

    let count = stream_messages(&platform.nats, "ASSETS").await;
    let again = client
        .import_assets(bearer(
            officer,
            ImportAssetsRequest {
                csv: csv.into(),
                consistency: None,
            },
        ))
        .await
        .expect("re-import")
        .into_inner();
    assert_eq!(
        (again.created, again.unchanged, again.errors.len()),
        (0, 2, 2)
    );
    assert_eq!(
        outcome(&again.lines)
            .iter()
            .map(|(_, _, o)| *o)
            .collect::<Vec<_>>(),
        ["unchanged", "refused", "unchanged", "refused"]
    );
    assert_eq!(
        stream_messages(&platform.nats, "ASSETS").await,
        count,
        "a re-import appends nothing"
    );

    let listed = client
        .list_assets(bearer(
            officer,
            ListAssetsRequest {
                consistency: first.consistency,
                min_integrity: 3,
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed
            .assets
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Mail relay", "Billing"]
    );
}

#[tokio::test]
async fn a_customer_never_sees_or_learns_of_another_tenants_asset() {
    let platform = Platform::start().await;
    let mut client = platform.assets().await;
    let officer = &platform.officer.0;
    let ours = client
        .register_asset(bearer(officer, register("acme", "Acme web", (2, 2, 2))))
        .await
        .expect("acme")
        .into_inner();
    let theirs = client
        .register_asset(bearer(officer, register("globex", "Globex web", (2, 2, 2))))
        .await
        .expect("globex")
        .into_inner();
    let token = theirs.consistency.clone();

    let other = client
        .get_asset(bearer(
            &platform.alice,
            GetAssetRequest {
                asset_id: theirs.asset.clone().unwrap().asset_id,
                consistency: token.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    let missing = client
        .get_asset(bearer(
            &platform.alice,
            GetAssetRequest {
                asset_id: "0192c3a0-7b7e-7c3e-8f00-0123456789ab".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    assert_eq!(
        (other.code(), other.message()),
        (missing.code(), missing.message())
    );

    let mine = client
        .get_asset(bearer(
            &platform.alice,
            GetAssetRequest {
                asset_id: ours.asset.unwrap().asset_id,
                ..Default::default()
            },
        ))
        .await
        .expect("alice reads acme's asset");
    assert_eq!(mine.into_inner().asset.unwrap().tenant_id, "acme");
    let listed = client
        .list_assets(bearer(
            &platform.alice,
            ListAssetsRequest {
                consistency: token.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        listed
            .assets
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Acme web"]
    );
    let asked = client
        .list_assets(bearer(
            &platform.alice,
            ListAssetsRequest {
                tenant_id: "globex".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert!(asked.assets.is_empty());
    let gaps = client
        .get_control_gaps(bearer(&platform.alice, GetControlGapsRequest::default()))
        .await
        .expect("gaps")
        .into_inner();
    assert!(gaps.gaps.iter().all(|g| g.tenant_id == "acme"));

    let import = client
        .import_assets(bearer(&platform.alice, ImportAssetsRequest { csv: "tenant,name,kind,owner_email,c,i,a\nglobex,Sneaky,server,bob@globex.example,1,1,1\n".into(), consistency: None }))
        .await
        .unwrap_err();
    assert_eq!(
        import.code(),
        Code::PermissionDenied,
        "a customer imports nothing, into no tenant"
    );
    let registered = client
        .register_asset(bearer(&platform.bob, register("acme", "Sneaky", (1, 1, 1))))
        .await
        .unwrap_err();
    assert_eq!(registered.code(), Code::PermissionDenied);
    let record = client
        .get_processing_record(bearer(
            &platform.bob,
            GetProcessingRecordRequest {
                tenant_id: "acme".into(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(record.code(), Code::NotFound);
}

#[tokio::test]
async fn the_processing_record_lists_every_asset_with_personal_data_and_none_without() {
    let platform = Platform::start().await;
    let mut client = platform.assets().await;
    let officer = &platform.officer.0;
    let crm = client
        .register_asset(bearer(officer, register("acme", "CRM", (3, 2, 2))))
        .await
        .expect("crm")
        .into_inner();
    client
        .register_asset(bearer(officer, register("acme", "Build server", (1, 2, 2))))
        .await
        .expect("build");
    let recorded = client
        .record_processing(bearer(
            officer,
            RecordProcessingRequest {
                asset_id: crm.asset.unwrap().asset_id,
                processing: Some(Processing {
                    data_categories: vec!["contact details".into(), "order history".into()],
                    special_categories: false,
                    data_subjects: vec!["acme's customers".into()],
                    purpose: "customer relationship management".into(),
                    retention: "3 years after last order".into(),
                    recipients: vec!["acme sales".into()],
                    sub_processors: vec!["Mailgun".into()],
                    transfers_outside_eu: Vec::new(),
                }),
                consistency: None,
            },
        ))
        .await
        .expect("processing")
        .into_inner();
    let record = client
        .get_processing_record(bearer(
            officer,
            GetProcessingRecordRequest {
                tenant_id: "acme".into(),
                consistency: recorded.consistency,
            },
        ))
        .await
        .expect("record")
        .into_inner();
    assert_eq!(record.assets, 1);
    let json: serde_json::Value = serde_json::from_str(&record.json).expect("json");
    assert_eq!(json["article"], "GDPR Art. 30(2)");
    assert_eq!(json["processor"]["name"], "Tillit Test AB");
    assert_eq!(json["controller"]["dpa_reference"], "DPA-acme-2026");
    assert_eq!(
        json["categories_of_processing"],
        serde_json::json!(["hosting", "backup"])
    );
    let names: Vec<_> = json["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["CRM"],
        "the build server holds no personal data"
    );
    assert_eq!(
        record.csv.lines().count(),
        2,
        "header and one asset: {}",
        record.csv
    );
    let alice = client
        .get_processing_record(bearer(
            &platform.alice,
            GetProcessingRecordRequest {
                tenant_id: "acme".into(),
                consistency: None,
            },
        ))
        .await
        .expect("the customer reads its own record");
    assert_eq!(alice.into_inner().assets, 1);
}

#[tokio::test]
async fn evidence_drives_the_control_gaps() {
    let platform = Platform::start().await;
    let mut client = platform.assets().await;
    let officer = &platform.officer.0;
    let asset = client
        .register_asset(bearer(officer, register("internal", "ERP", (2, 2, 3))))
        .await
        .expect("erp")
        .into_inner()
        .asset
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let evidence = [
        Evidence::BackupSchedule(BackupScheduleSet {
            schedule: "daily 02:00".into(),
            interval_hours: 24,
        }),
        Evidence::BackupRun(BackupRunRecorded {
            ran_at: timestamp(now - time::Duration::hours(2)),
            success: true,
            note: String::new(),
        }),
        Evidence::Monitoring(MonitoringSet {
            enabled: true,
            alert_route: "ops-pager".into(),
        }),
        Evidence::RestoreTest(RestoreTestRecorded {
            tested_at: timestamp(now - time::Duration::days(91)),
            success: true,
            note: String::new(),
        }),
    ];
    let mut token = None;
    for e in evidence {
        token = client
            .record_evidence(bearer(
                officer,
                RecordEvidenceRequest {
                    asset_id: asset.asset_id.clone(),
                    evidence: Some(e),
                    consistency: None,
                },
            ))
            .await
            .expect("evidence")
            .into_inner()
            .consistency;
    }
    let gaps = client
        .get_control_gaps(bearer(
            officer,
            GetControlGapsRequest {
                asset_id: asset.asset_id.clone(),
                tenant_id: String::new(),
                min_severity: 0,
                consistency: token,
            },
        ))
        .await
        .expect("gaps")
        .into_inner();
    let found: Vec<_> = gaps
        .gaps
        .iter()
        .map(|g| (g.control.as_str(), g.state().word()))
        .collect();
    assert_eq!(
        found,
        vec![("restore-test", "overdue")],
        "only the restore test is late"
    );
    assert!(!gaps.rules_sha256.is_empty());
    let future = client
        .record_evidence(bearer(
            officer,
            RecordEvidenceRequest {
                asset_id: asset.asset_id.clone(),
                evidence: Some(Evidence::RestoreTest(RestoreTestRecorded {
                    tested_at: timestamp(now + time::Duration::days(1)),
                    success: true,
                    note: String::new(),
                })),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(field_of(&future), "restore_test.tested_at");

    // An employee manages only what it owns; an auditor reads everything.
    let (employee, _) = &platform.employee;
    let denied = client
        .classify_asset(bearer(
            employee,
            ClassifyAssetRequest {
                asset_id: asset.asset_id.clone(),
                classification: Some(Classification {
                    confidentiality: 1,
                    integrity: 1,
                    availability: 1,
                }),
                rationale: "mine now".into(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        denied.code(),
        Code::NotFound,
        "an employee does not even see another owner's asset"
    );
    let own = client
        .register_asset(bearer(
            employee,
            RegisterAssetRequest {
                classification: None,
                ..register("internal", "Laptop fleet", (1, 1, 1))
            },
        ))
        .await
        .expect("own asset")
        .into_inner();
    assert_eq!(own.asset.unwrap().owner_user_id, platform.employee.1);
    let audited = client
        .list_assets(bearer(
            &platform.auditor,
            ListAssetsRequest {
                consistency: own.consistency,
                ..Default::default()
            },
        ))
        .await
        .expect("auditor lists")
        .into_inner();
    assert_eq!(audited.assets.len(), 2);
}
