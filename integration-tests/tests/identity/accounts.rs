//! Lockout, tenant isolation, permissions, and input validation.

use std::time::Duration;

use tillit_integration_tests::field_of;
use tillit_proto::identity::{
    Contact, CreateTenantRequest, CreateUserRequest, GetTenantRequest, GetUserRequest,
    GrantRoleRequest, ListUsersRequest, UnlockUserRequest, UpdateTenantRequest,
};
use tonic::Code;

use crate::support::{Stack, bearer, stream_messages, user_password};

fn tenant_request(slug: &str) -> CreateTenantRequest {
    CreateTenantRequest {
        tenant_id: slug.into(),
        name: format!("{slug} AB"),
        organisation_number: "556036-0793".into(),
        incident_contacts: vec![Contact {
            name: "Ops".into(),
            email: format!("ops@{slug}.example"),
            phone: "+46 8 123 456".into(),
            contact_id: String::new(),
        }],
        contract: None,
        consistency: None,
    }
}

#[tokio::test]
async fn five_wrong_passwords_throttle_the_address_until_the_window_passes_or_an_admin_lifts_it() {
    let stack = Stack::with(&[("TILLIT_THROTTLE_WINDOW_SECONDS", "1")]).await;
    let admin = stack.identity.admin_token().await;
    let email = "mallory@tillit.test";
    let (user, _, _) = stack
        .identity
        .create_user(&admin, "internal", email, &["employee"])
        .await;
    let password = user_password(email);

    for _ in 0..5 {
        let wrong = stack
            .identity
            .login(email, "not-the-password")
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Code::Unauthenticated);
    }
    let throttled = stack.identity.login(email, &password).await.unwrap_err();
    assert_eq!(
        throttled.code(),
        Code::ResourceExhausted,
        "the right password is not even checked while throttled"
    );
    assert!(
        throttled.message().contains("try again in"),
        "{}",
        throttled.message()
    );

    // An admin lifts it.
    stack
        .identity
        .client()
        .await
        .unlock_user(bearer(
            &admin,
            UnlockUserRequest {
                user_id: user.user_id.clone(),
                consistency: None,
            },
        ))
        .await
        .expect("unlock");
    let login = stack
        .identity
        .login(email, &password)
        .await
        .expect("lifted");
    assert_eq!(login.failed_attempts_before, 0, "the lift cleared them");

    // Throttled again; this time the (1-second) window runs out.
    for _ in 0..5 {
        let _ = stack.identity.login(email, "not-the-password").await;
    }
    assert!(stack.identity.login(email, &password).await.is_err());
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    stack
        .identity
        .login(email, &password)
        .await
        .expect("the window passed");
}

#[tokio::test]
async fn a_customer_sees_only_its_tenant_and_other_tenants_answer_not_found() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let mut client = stack.identity.client().await;
    for slug in ["acme", "globex"] {
        client
            .create_tenant(bearer(&admin, tenant_request(slug)))
            .await
            .expect("tenant");
    }
    let (_, alice, _) = stack
        .identity
        .create_user(&admin, "acme", "alice@acme.example", &["customer"])
        .await;
    let (_, _, _) = stack
        .identity
        .create_user(&admin, "acme", "anna@acme.example", &["customer"])
        .await;
    let (bob, _, created) = stack
        .identity
        .create_user(&admin, "globex", "bob@globex.example", &["customer"])
        .await;

    let listed = client
        .list_users(bearer(
            &alice.access_token,
            ListUsersRequest {
                consistency: Some(created.clone()),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    let emails: Vec<_> = listed.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, vec!["alice@acme.example", "anna@acme.example"]);
    let foreign = client
        .list_users(bearer(
            &alice.access_token,
            ListUsersRequest {
                tenant_id: "globex".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert!(
        foreign.users.is_empty(),
        "another tenant's users are invisible"
    );

    let other = client
        .get_user(bearer(
            &alice.access_token,
            GetUserRequest {
                user_id: bob.user_id.clone(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    let missing = client
        .get_user(bearer(
            &alice.access_token,
            GetUserRequest {
                user_id: "0192c3a0-7b7e-7c3e-8f00-0123456789ab".into(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    assert_eq!(
        (other.code(), other.message()),
        (missing.code(), missing.message()),
        "indistinguishable from a missing user"
    );

    let everyone = client
        .list_users(bearer(
            &admin,
            ListUsersRequest {
                page: Some(tillit_proto::common::PageRequest {
                    page_size: 2,
                    page_token: String::new(),
                }),
                ..Default::default()
            },
        ))
        .await
        .expect("admin list")
        .into_inner();
    assert_eq!(everyone.users.len(), 2);
    assert!(
        !everyone.page.expect("page").next_page_token.is_empty(),
        "more pages"
    );
}

#[tokio::test]
async fn an_employee_may_not_grant_and_admin_is_no_role_for_a_customer() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let mut client = stack.identity.client().await;
    client
        .create_tenant(bearer(&admin, tenant_request("acme")))
        .await
        .expect("tenant");
    let (customer, _, _) = stack
        .identity
        .create_user(&admin, "acme", "carl@acme.example", &["customer"])
        .await;
    let (_, employee, _) = stack
        .identity
        .create_user(&admin, "internal", "emma@tillit.test", &["employee"])
        .await;

    let denied = client
        .grant_role(bearer(
            &employee.access_token,
            GrantRoleRequest {
                user_id: customer.user_id.clone(),
                role: tillit_proto::identity::Role::Customer.into(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    let before = stream_messages(&stack.nats, "IDENTITY").await;
    let invalid = client
        .grant_role(bearer(
            &admin,
            GrantRoleRequest {
                user_id: customer.user_id.clone(),
                role: tillit_proto::identity::Role::Admin.into(),
                consistency: None,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert_eq!(field_of(&invalid), "role");
    assert_eq!(
        stream_messages(&stack.nats, "IDENTITY").await,
        before,
        "nothing appended"
    );
}

#[tokio::test]
async fn invalid_input_names_the_field_and_appends_nothing() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let mut client = stack.identity.client().await;
    let good = CreateUserRequest {
        tenant_id: "internal".into(),
        email: "valid@tillit.test".into(),
        display_name: "Valid".into(),
        roles: vec![tillit_proto::identity::Role::Employee.into()],
        temporary_password: "long-enough-password".into(),
        consistency: None,
    };
    let cases = [
        (
            "email",
            CreateUserRequest {
                email: "not-an-email".into(),
                ..good.clone()
            },
        ),
        (
            "temporary_password",
            CreateUserRequest {
                temporary_password: "short".into(),
                ..good.clone()
            },
        ),
        (
            "roles",
            CreateUserRequest {
                roles: vec![99],
                ..good.clone()
            },
        ),
        (
            "tenant_id",
            CreateUserRequest {
                tenant_id: "Not A Slug".into(),
                ..good.clone()
            },
        ),
        (
            "roles",
            CreateUserRequest {
                roles: vec![tillit_proto::identity::Role::Customer.into()],
                ..good.clone()
            },
        ),
    ];
    let identity_before = stream_messages(&stack.nats, "IDENTITY").await;
    let credentials_before = stream_messages(&stack.nats, "CREDENTIALS").await;
    for (field, request) in cases {
        let status = client
            .create_user(bearer(&admin, request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert_eq!(field_of(&status), field);
    }
    let bad_tenant = client
        .create_tenant(bearer(
            &admin,
            CreateTenantRequest {
                tenant_id: "-bad".into(),
                ..tenant_request("x")
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(field_of(&bad_tenant), "tenant_id");
    let bad_org = client
        .create_tenant(bearer(
            &admin,
            CreateTenantRequest {
                organisation_number: "123".into(),
                ..tenant_request("okay")
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(field_of(&bad_org), "organisation_number");
    assert_eq!(
        stream_messages(&stack.nats, "IDENTITY").await,
        identity_before,
        "IDENTITY unchanged"
    );
    assert_eq!(
        stream_messages(&stack.nats, "CREDENTIALS").await,
        credentials_before,
        "CREDENTIALS unchanged"
    );

    client
        .create_user(bearer(&admin, good))
        .await
        .expect("the valid request still works");
}

#[tokio::test]
async fn an_admin_changes_a_customers_terms_keeping_its_contacts_and_bad_changes_change_nothing() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let mut client = stack.identity.client().await;
    let created = client
        .create_tenant(bearer(&admin, tenant_request("acme")))
        .await
        .expect("tenant")
        .into_inner()
        .tenant
        .expect("tenant");
    let (_, employee, _) = stack
        .identity
        .create_user(&admin, "internal", "emma@tillit.test", &["employee"])
        .await;
    let ops = created.incident_contacts[0].clone();
    let update = |contacts: Vec<Contact>, hours: u32| UpdateTenantRequest {
        tenant_id: "acme".into(),
        name: "Acme Holding AB".into(),
        organisation_number: created.organisation_number.clone(),
        incident_contacts: contacts,
        contract: Some(tillit_proto::identity::ContractTerms {
            breach_notice_hours: hours,
            dpa_reference: "DPA-2027".into(),
            ..Default::default()
        }),
        consistency: None,
    };
    let newcomer = Contact {
        name: "Security desk".into(),
        email: "security@acme.example".into(),
        phone: "+46 8 555 000".into(),
        contact_id: String::new(),
    };

    let before = stream_messages(&stack.nats, "IDENTITY").await;
    for (request, token, code, field) in [
        (
            update(vec![ops.clone()], 12),
            &employee.access_token,
            Code::PermissionDenied,
            "",
        ),
        (
            update(Vec::new(), 12),
            &admin,
            Code::InvalidArgument,
            "incident_contacts",
        ),
        (
            update(vec![ops.clone()], 9000),
            &admin,
            Code::InvalidArgument,
            "contract.breach_notice_hours",
        ),
        (
            update(
                vec![Contact {
                    contact_id: "not-one-of-acme".into(),
                    ..ops.clone()
                }],
                12,
            ),
            &admin,
            Code::InvalidArgument,
            "incident_contacts.contact_id",
        ),
        (
            UpdateTenantRequest {
                tenant_id: "internal".into(),
                ..update(vec![ops.clone()], 12)
            },
            &admin,
            Code::InvalidArgument,
            "tenant_id",
        ),
        (
            UpdateTenantRequest {
                tenant_id: "nobody".into(),
                ..update(vec![ops.clone()], 12)
            },
            &admin,
            Code::NotFound,
            "",
        ),
    ] {
        let refused = client
            .update_tenant(bearer(token, request))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code, "{field}: {}", refused.message());
        assert_eq!(field_of(&refused), field);
    }
    assert_eq!(
        stream_messages(&stack.nats, "IDENTITY").await,
        before,
        "nothing written"
    );

    let changed = client
        .update_tenant(bearer(&admin, update(vec![ops.clone(), newcomer], 12)))
        .await
        .expect("update")
        .into_inner();
    let tenant = client
        .get_tenant(bearer(
            &admin,
            GetTenantRequest {
                tenant_id: "acme".into(),
                consistency: changed.consistency,
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .tenant
        .expect("tenant");
    assert_eq!(tenant.name, "Acme Holding AB");
    assert_eq!(
        tenant.contract.as_ref().map(|c| c.breach_notice_hours),
        Some(12)
    );
    assert_eq!(
        tenant.contract.as_ref().map(|c| c.outage_notice_hours),
        Some(24),
        "0 is the default"
    );
    assert_eq!(tenant.incident_contacts.len(), 2);
    assert_eq!(
        tenant.incident_contacts[0].contact_id, ops.contact_id,
        "a staying contact keeps its id"
    );
    assert_eq!(
        tenant.incident_contacts[0].email, ops.email,
        "and is opened"
    );
    assert!(!tenant.incident_contacts[1].contact_id.is_empty());
    assert_ne!(tenant.incident_contacts[1].contact_id, ops.contact_id);

    let mut same = update(tenant.incident_contacts.clone(), 12);
    same.contract = tenant.contract.clone();
    let unchanged = client
        .update_tenant(bearer(&admin, same))
        .await
        .unwrap_err();
    assert_eq!(
        unchanged.code(),
        Code::FailedPrecondition,
        "{}",
        unchanged.message()
    );
}
