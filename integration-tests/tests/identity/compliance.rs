//! Service accounts, policy acknowledgements and coverage, trainings, access reviews.

use tillit_kernel::Clock;
use tillit_proto::Vocabulary as _;
use tillit_proto::identity::AccessDecision;
use tillit_proto::identity::{
    AcknowledgePolicyRequest, CreateServiceAccountRequest, DecideAccessReviewItemRequest,
    GetAccessReviewRequest, GetPolicyCoverageRequest, GetPolicyRequest, GetTrainingGapsRequest,
    IssueServiceTokenRequest, ListAccessReviewsRequest, ListPoliciesRequest,
    ListPolicyVersionsRequest, ListTrainingCoursesRequest, PublishPolicyRequest,
    RecordTrainingRequest, RotateServiceAccountSecretRequest, StartAccessReviewRequest,
    WhoAmIRequest,
};
use tonic::Code;

use crate::support::{Stack, bearer, start_identity, test_config, user_password};

fn timestamp(at: time::OffsetDateTime) -> Option<prost_types::Timestamp> {
    Some(tillit_kernel::clock::to_timestamp(at))
}

#[tokio::test]
async fn a_service_account_gets_a_token_and_a_rotated_secret_stops_working() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let mut client = stack.identity.client().await;
    let created = client
        .create_service_account(bearer(
            &admin,
            CreateServiceAccountRequest {
                tenant_id: "internal".into(),
                name: "ERP integration".into(),
                roles: vec![tillit_proto::identity::Role::Auditor.into()],
                consistency: None,
            },
        ))
        .await
        .expect("create")
        .into_inner();
    let issue = |secret: &str| IssueServiceTokenRequest {
        client_id: created.client_id.clone(),
        client_secret: secret.to_owned(),
        consistency: None,
    };

    let token = client
        .issue_service_token(issue(&created.client_secret))
        .await
        .expect("token")
        .into_inner();
    assert_eq!(token.expires_in, 900);
    let me = client
        .who_am_i(bearer(&token.access_token, WhoAmIRequest::default()))
        .await
        .expect("whoami")
        .into_inner();
    assert_eq!(me.subject, created.client_id);
    assert_eq!(
        me.roles().map(|r| r.word().to_owned()).collect::<Vec<_>>(),
        vec!["auditor".to_owned()]
    );
    assert_eq!(me.display_name, "ERP integration");

    let wrong = client
        .issue_service_token(issue("not-the-secret"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated);

    let rotated = client
        .rotate_service_account_secret(bearer(
            &admin,
            RotateServiceAccountSecretRequest {
                service_account_id: created.client_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("rotate")
        .into_inner();
    let old = client
        .issue_service_token(issue(&created.client_secret))
        .await
        .unwrap_err();
    assert_eq!(
        old.code(),
        Code::Unauthenticated,
        "the old secret fails after rotation"
    );
    client
        .issue_service_token(issue(&rotated.client_secret))
        .await
        .expect("the new secret works");

    let other = stack.second_process().await;
    other.caught_up(&rotated.consistency.expect("token")).await;
    assert!(
        other.verifier.authenticate(&token.access_token).is_err(),
        "tokens from before the rotation are refused"
    );
}

#[tokio::test]
async fn coverage_shows_who_misses_the_current_version_or_acknowledged_over_twelve_months_ago() {
    let nats = tillit_testkit::NatsServer::start();
    let data = tempfile::tempdir().expect("dir");
    let clock = Clock::system();
    let mut config = test_config(&nats.url(), data.path(), &[]);
    config.clock = clock.clone();
    let identity = start_identity(config).await;
    let admin = identity.admin_token().await;
    let (_, manager, _) = identity
        .create_user(
            &admin,
            "internal",
            "maja@tillit.test",
            &["manager", "employee"],
        )
        .await;
    let (u1, one, _) = identity
        .create_user(&admin, "internal", "ulf@tillit.test", &["employee"])
        .await;
    let (u2, two, _) = identity
        .create_user(&admin, "internal", "ulla@tillit.test", &["employee"])
        .await;
    let mut client = identity.client().await;

    let publish = |text: &str| PublishPolicyRequest {
        policy_id: "information-security".into(),
        title: "Information security policy".into(),
        text: text.into(),
        consistency: None,
    };
    let v1 = client
        .publish_policy(bearer(&manager.access_token, publish("# v1\nBe careful.")))
        .await
        .expect("v1")
        .into_inner();
    assert_eq!(v1.policy.as_ref().map(|p| p.version), Some(1));
    let acknowledge = |version: u32| AcknowledgePolicyRequest {
        policy_id: "information-security".into(),
        version,
        consistency: None,
    };
    client
        .acknowledge_policy(bearer(&one.access_token, acknowledge(1)))
        .await
        .expect("ulf acknowledges v1");
    let acked = client
        .acknowledge_policy(bearer(&two.access_token, acknowledge(1)))
        .await
        .expect("ulla acknowledges v1")
        .into_inner();

    let coverage = |token| GetPolicyCoverageRequest {
        policy_id: "information-security".into(),
        role: tillit_proto::identity::Role::Employee.into(),
        consistency: token,
    };
    let before = client
        .get_policy_coverage(bearer(&manager.access_token, coverage(acked.consistency)))
        .await
        .expect("coverage")
        .into_inner();
    let missing: Vec<_> = before.missing.iter().map(|m| m.email.as_str()).collect();
    assert_eq!(
        missing,
        vec!["maja@tillit.test"],
        "both employees covered; the manager has not acknowledged"
    );

    let v2 = client
        .publish_policy(bearer(
            &manager.access_token,
            publish("# v2\nBe more careful."),
        ))
        .await
        .expect("v2")
        .into_inner();
    let after = client
        .get_policy_coverage(bearer(
            &manager.access_token,
            coverage(v2.consistency.clone()),
        ))
        .await
        .expect("coverage")
        .into_inner();
    assert_eq!(after.version, 2);
    for user in [&u1, &u2] {
        let entry = after
            .missing
            .iter()
            .find(|m| m.user_id == user.user_id)
            .expect("missing v2");
        assert_eq!(entry.acknowledged_version, 1);
        assert_eq!(
            entry.outstanding_since,
            v2.policy.as_ref().and_then(|p| p.published_at),
            "outstanding since v2 was published"
        );
    }
    assert_eq!((after.staff, after.covered), (3, 0));

    let renewed = client
        .acknowledge_policy(bearer(&one.access_token, acknowledge(2)))
        .await
        .expect("ulf acknowledges v2")
        .into_inner();
    let now_covered = client
        .get_policy_coverage(bearer(&manager.access_token, coverage(renewed.consistency)))
        .await
        .expect("coverage")
        .into_inner();
    assert!(now_covered.missing.iter().all(|m| m.user_id != u1.user_id));

    // Thirteen months later Ulf's acknowledgement no longer counts.
    clock.advance(time::Duration::days(13 * 31));
    let later = client
        .get_policy_coverage(bearer(&manager.access_token, coverage(None)))
        .await
        .expect("coverage")
        .into_inner();
    let ulf = later
        .missing
        .iter()
        .find(|m| m.user_id == u1.user_id)
        .expect("ulf is missing again");
    assert_eq!(
        ulf.acknowledged_version, 2,
        "he did acknowledge the current version, but too long ago"
    );
    let at = |ts: &Option<prost_types::Timestamp>| {
        ts.as_ref()
            .and_then(tillit_kernel::clock::from_timestamp)
            .expect("a time")
    };
    assert_eq!(
        at(&ulf.outstanding_since),
        tillit_identity::domain::policy::add_months(at(&ulf.acknowledged_at), 12),
        "outstanding since the acknowledgement turned 12 months old"
    );
}

#[tokio::test]
async fn training_gaps_list_staff_without_a_valid_record() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let (trained, _, _) = stack
        .identity
        .create_user(&admin, "internal", "tina@tillit.test", &["employee"])
        .await;
    let (lapsed, _, _) = stack
        .identity
        .create_user(&admin, "internal", "lars@tillit.test", &["employee"])
        .await;
    let mut client = stack.identity.client().await;
    let now = time::OffsetDateTime::now_utc();
    let record = |user: &str, days_ago: i64, valid_days: i64| RecordTrainingRequest {
        user_id: user.into(),
        course: "security-awareness".into(),
        completed_at: timestamp(now - time::Duration::days(days_ago)),
        valid_until: timestamp(
            now - time::Duration::days(days_ago) + time::Duration::days(valid_days),
        ),
        consistency: None,
    };
    client
        .record_training(bearer(&admin, record(&trained.user_id, 10, 365)))
        .await
        .expect("record");
    let last = client
        .record_training(bearer(&admin, record(&lapsed.user_id, 400, 365)))
        .await
        .expect("record")
        .into_inner();
    let future = client
        .record_training(bearer(&admin, record(&lapsed.user_id, -1, 365)))
        .await
        .unwrap_err();
    assert_eq!(future.code(), Code::InvalidArgument);

    let gaps = client
        .get_training_gaps(bearer(
            &admin,
            GetTrainingGapsRequest {
                course: "security-awareness".into(),
                role: tillit_proto::identity::Role::Employee.into(),
                consistency: last.consistency,
            },
        ))
        .await
        .expect("gaps")
        .into_inner();
    let emails: Vec<_> = gaps.gaps.iter().map(|g| g.email.as_str()).collect();
    assert_eq!(
        emails,
        vec!["lars@tillit.test"],
        "the expired record is a gap, the valid one is not"
    );
    assert!(gaps.gaps[0].last_valid_until.is_some());

    let courses = client
        .list_training_courses(bearer(
            &admin,
            ListTrainingCoursesRequest { consistency: None },
        ))
        .await
        .expect("courses")
        .into_inner()
        .courses;
    assert_eq!(courses.len(), 1);
    assert_eq!(courses[0].course, "security-awareness");
    assert_eq!(
        courses[0].valid, 1,
        "tina's record counts, lars's lapsed one does not"
    );
    assert_eq!(
        courses[0].staff,
        gaps.staff + 1,
        "every active member of staff, the admin too"
    );
}

#[tokio::test]
async fn an_access_review_revocation_takes_the_role_away_and_the_last_decision_completes_it() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let (_, officer, _) = stack
        .identity
        .create_user(
            &admin,
            "internal",
            "sofia@tillit.test",
            &["security_officer"],
        )
        .await;
    let (eve, eve_login, created) = stack
        .identity
        .create_user(
            &admin,
            "internal",
            "eve@tillit.test",
            &["employee", "auditor"],
        )
        .await;
    let (_, auditor, _) = stack
        .identity
        .create_user(&admin, "internal", "audrey@tillit.test", &["auditor"])
        .await;
    let other = stack.second_process().await;
    other.caught_up(&created).await;
    let mut client = stack.identity.client().await;

    let started = client
        .start_access_review(bearer(
            &officer.access_token,
            StartAccessReviewRequest {
                tenant_id: "internal".into(),
                due_at: timestamp(time::OffsetDateTime::now_utc() + time::Duration::days(14)),
                consistency: None,
            },
        ))
        .await
        .expect("start")
        .into_inner();
    let campaign = started.campaign.expect("campaign");
    // admin:admin, sofia:security_officer, eve:employee, eve:auditor, audrey:auditor
    assert_eq!((campaign.items, campaign.status().word()), (5, "open"));

    let review = client
        .get_access_review(bearer(
            &auditor.access_token,
            GetAccessReviewRequest {
                campaign_id: campaign.campaign_id.clone(),
                undecided_only: true,
                consistency: started.consistency,
            },
        ))
        .await
        .expect("the auditor reads the campaign")
        .into_inner();
    let items: Vec<_> = review.items.iter().filter_map(|i| i.item.clone()).collect();
    let eve_auditor = items
        .iter()
        .find(|i| i.principal_id == eve.user_id && i.role == "auditor")
        .expect("eve's auditor grant")
        .clone();
    let decide = |item_id: &str, decision: AccessDecision| DecideAccessReviewItemRequest {
        campaign_id: campaign.campaign_id.clone(),
        item_id: item_id.into(),
        decision: decision.into(),
        reason: "quarterly review".into(),
        consistency: None,
    };

    let denied = client
        .decide_access_review_item(bearer(
            &auditor.access_token,
            decide(&eve_auditor.item_id, AccessDecision::Confirmed),
        ))
        .await
        .unwrap_err();
    assert_eq!(
        denied.code(),
        Code::PermissionDenied,
        "an auditor decides nothing"
    );

    let revoked = client
        .decide_access_review_item(bearer(
            &officer.access_token,
            decide(&eve_auditor.item_id, AccessDecision::Revoked),
        ))
        .await
        .expect("revoke")
        .into_inner();
    assert!(!revoked.campaign_completed);
    other.caught_up(&revoked.consistency.expect("token")).await;
    assert!(
        other
            .verifier
            .authenticate(&eve_login.access_token)
            .is_err(),
        "eve's existing token is refused"
    );
    let fresh = stack
        .identity
        .login("eve@tillit.test", &user_password("eve@tillit.test"))
        .await
        .expect("login");
    let caller = other
        .verifier
        .authenticate(&fresh.access_token)
        .expect("new token");
    assert_eq!(
        caller.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        vec!["employee"],
        "the next login lacks the role"
    );

    let rest: Vec<_> = items
        .iter()
        .filter(|i| i.item_id != eve_auditor.item_id)
        .collect();
    let mut completed = false;
    for (n, item) in rest.iter().enumerate() {
        let answer = client
            .decide_access_review_item(bearer(
                &officer.access_token,
                decide(&item.item_id, AccessDecision::Confirmed),
            ))
            .await
            .expect("confirm")
            .into_inner();
        assert_eq!(
            answer.campaign_completed,
            n + 1 == rest.len(),
            "completes exactly at the last decision"
        );
        completed = answer.campaign_completed;
        if completed {
            let open = client
                .list_access_reviews(bearer(
                    &auditor.access_token,
                    ListAccessReviewsRequest {
                        open_only: true,
                        consistency: answer.consistency,
                    },
                ))
                .await
                .expect("list")
                .into_inner();
            assert!(open.campaigns.is_empty(), "no open campaign left");
        }
    }
    assert!(completed);
}

#[tokio::test]
async fn an_employee_may_neither_publish_nor_start_a_campaign_and_an_auditor_reads_coverage() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let (_, employee, _) = stack
        .identity
        .create_user(&admin, "internal", "emil@tillit.test", &["employee"])
        .await;
    let (_, manager, _) = stack
        .identity
        .create_user(&admin, "internal", "mona@tillit.test", &["manager"])
        .await;
    let (_, auditor, _) = stack
        .identity
        .create_user(&admin, "internal", "alva@tillit.test", &["auditor"])
        .await;
    let mut client = stack.identity.client().await;

    let publish = PublishPolicyRequest {
        policy_id: "acceptable-use".into(),
        title: "Acceptable use".into(),
        text: "Use it well.".into(),
        consistency: None,
    };
    let denied = client
        .publish_policy(bearer(&employee.access_token, publish.clone()))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let start = StartAccessReviewRequest {
        tenant_id: String::new(),
        due_at: timestamp(time::OffsetDateTime::now_utc() + time::Duration::days(7)),
        consistency: None,
    };
    let denied = client
        .start_access_review(bearer(&employee.access_token, start))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let published = client
        .publish_policy(bearer(&manager.access_token, publish))
        .await
        .expect("publish")
        .into_inner();
    let coverage = client
        .get_policy_coverage(bearer(
            &auditor.access_token,
            GetPolicyCoverageRequest {
                policy_id: "acceptable-use".into(),
                role: 0,
                consistency: published.consistency,
            },
        ))
        .await
        .expect("the auditor reads coverage")
        .into_inner();
    assert_eq!(coverage.covered, 0);
    client
        .list_access_reviews(bearer(
            &auditor.access_token,
            ListAccessReviewsRequest::default(),
        ))
        .await
        .expect("the auditor reads campaigns");
    let denied = client
        .acknowledge_policy(bearer(
            &employee.access_token,
            AcknowledgePolicyRequest {
                policy_id: "acceptable-use".into(),
                version: 9,
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::InvalidArgument, "no such version");
}

#[tokio::test]
async fn the_policy_list_says_where_the_caller_stands_and_every_version_stays_readable() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let (_, manager, _) = stack
        .identity
        .create_user(&admin, "internal", "mira@tillit.test", &["manager"])
        .await;
    let (_, employee, _) = stack
        .identity
        .create_user(&admin, "internal", "elis@tillit.test", &["employee"])
        .await;
    let mut client = stack.identity.client().await;
    let publish = |text: &str| PublishPolicyRequest {
        policy_id: "information-security".into(),
        title: "Information security policy".into(),
        text: text.into(),
        consistency: None,
    };
    let v1 = client
        .publish_policy(bearer(&manager.access_token, publish("# v1\nBe careful.")))
        .await
        .expect("v1")
        .into_inner();
    let acked = client
        .acknowledge_policy(bearer(
            &employee.access_token,
            AcknowledgePolicyRequest {
                policy_id: "information-security".into(),
                version: 1,
                consistency: v1.consistency,
            },
        ))
        .await
        .expect("acknowledge v1")
        .into_inner();
    let listed = |token| ListPoliciesRequest { consistency: token };
    let mine = client
        .list_policies(bearer(&employee.access_token, listed(acked.consistency)))
        .await
        .expect("list")
        .into_inner()
        .policies;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].acknowledged_version, 1);
    assert!(mine[0].outstanding_since.is_none(), "v1 is covered");
    assert!(
        mine[0].policy.as_ref().is_some_and(|p| p.text.is_empty()),
        "the list leaves the text out"
    );

    let v2 = client
        .publish_policy(bearer(
            &manager.access_token,
            publish("# v2\nBe more careful."),
        ))
        .await
        .expect("v2")
        .into_inner();
    let mine = client
        .list_policies(bearer(
            &employee.access_token,
            listed(v2.consistency.clone()),
        ))
        .await
        .expect("list")
        .into_inner()
        .policies;
    assert_eq!(mine[0].policy.as_ref().map(|p| p.version), Some(2));
    assert_eq!(mine[0].acknowledged_version, 1);
    assert_eq!(
        mine[0].outstanding_since,
        v2.policy.as_ref().and_then(|p| p.published_at),
        "v2 is outstanding for the employee since it was published"
    );

    let versions = client
        .list_policy_versions(bearer(
            &employee.access_token,
            ListPolicyVersionsRequest {
                policy_id: "information-security".into(),
                consistency: v2.consistency.clone(),
            },
        ))
        .await
        .expect("history")
        .into_inner()
        .versions;
    let numbers: Vec<_> = versions
        .iter()
        .map(|v| (v.version, v.text.is_empty()))
        .collect();
    assert_eq!(numbers, vec![(1, true), (2, true)]);
    let read = |version: u32| GetPolicyRequest {
        policy_id: "information-security".into(),
        consistency: v2.consistency.clone(),
        version,
    };
    let first = client
        .get_policy(bearer(&employee.access_token, read(1)))
        .await
        .expect("v1 is still readable")
        .into_inner();
    assert_eq!(first.current_version, 2);
    assert_eq!(
        first.policy.as_ref().map(|p| (p.version, p.text.as_str())),
        Some((1, "# v1\nBe careful."))
    );
    let current = client
        .get_policy(bearer(&employee.access_token, read(0)))
        .await
        .expect("current")
        .into_inner();
    assert_eq!(current.policy.as_ref().map(|p| p.version), Some(2));
    let missing = client
        .get_policy(bearer(&employee.access_token, read(7)))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    assert_eq!(tillit_integration_tests::field_of(&missing), "version");
}
