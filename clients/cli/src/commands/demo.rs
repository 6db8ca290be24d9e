//! `tillit demo seed`: a small, realistic data set through the public API — two customers,
//! a dozen assets, incidents in several states, and one user per role. Every create
//! carries an idempotency key and incidents already handled are left alone, so seeding
//! twice adds nothing; the demo users get a fresh temporary password on every run, printed
//! so a newcomer can sign in to the portal as each of them.

use clap::Subcommand;
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::assets::{AssetKind, Classification, ListAssetsRequest, RegisterAssetRequest};
use tillit_proto::common::Severity;
use tillit_proto::common::{ConsistencyToken, PageRequest};
use tillit_proto::identity::{
    Contact, ContractTerms, CreateTenantRequest, CreateUserRequest, ListUsersRequest,
    ResetPasswordRequest, Role,
};
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tillit_proto::incidents::{
    AssetImpact, DataSubjectRisk, GetIncidentRequest, IncidentKind, IncidentStatus,
    IncidentTransition, ReportIncidentRequest, ReviewIncidentRequest, SecurityProperty,
    TransitionIncidentRequest, TriageAssessment, TriageIncidentRequest,
};

use super::Context;
use crate::failure::Failure;
use crate::session::Service;

/// `tillit demo`.
#[derive(Subcommand)]
pub enum Demo {
    /// Load demo data and one user per role (an admin's login; safe to run twice: the demo
    /// users get new temporary passwords).
    #[command(
        after_help = "Example:\n  tillit login --email admin@tillit.local && tillit demo seed"
    )]
    Seed,
}

/// (tenant, name, kind, C, I, A)
const ASSETS: [(&str, &str, AssetKind, u32, u32, u32); 12] = [
    ("acme", "Acme mail hosting", AssetKind::Service, 3, 3, 3),
    ("acme", "Acme web shop", AssetKind::Service, 2, 3, 4),
    (
        "acme",
        "Acme customer database",
        AssetKind::Database,
        4,
        4,
        3,
    ),
    ("acme", "Acme nightly backup", AssetKind::System, 3, 3, 2),
    ("globex", "Globex file sharing", AssetKind::Service, 3, 2, 3),
    ("globex", "Globex VPN", AssetKind::Service, 3, 3, 3),
    (
        "globex",
        "Globex payroll export",
        AssetKind::Dataset,
        4,
        3,
        2,
    ),
    ("internal", "Ticketing system", AssetKind::Saas, 2, 3, 3),
    ("internal", "Staff laptops", AssetKind::System, 3, 2, 2),
    (
        "internal",
        "Customer contracts",
        AssetKind::Document,
        3,
        3,
        1,
    ),
    (
        "internal",
        "Monitoring platform",
        AssetKind::System,
        2,
        3,
        4,
    ),
    ("internal", "Office network", AssetKind::Network, 2, 2, 3),
];

/// (title, kind, severity and the index of the affected asset when triaged, transitions)
type DemoIncident = (
    &'static str,
    IncidentKind,
    Option<(Severity, usize)>,
    &'static [IncidentTransition],
);

fn keyed<T>(mut request: tonic::Request<T>, key: &str) -> tonic::Request<T> {
    if let Ok(value) = format!("demo-{key}").parse() {
        request.metadata_mut().insert("idempotency-key", value);
    }
    request
}

fn merge(token: &mut ConsistencyToken, more: Option<ConsistencyToken>) {
    for position in more.unwrap_or_default().positions {
        match token
            .positions
            .iter_mut()
            .find(|p| p.stream == position.stream)
        {
            Some(p) => p.sequence = p.sequence.max(position.sequence),
            None => token.positions.push(position),
        }
    }
}

/// The id of `tenant`'s asset called `name`.
async fn existing_asset(
    ctx: &Context,
    assets: &mut AssetsServiceClient<tonic::transport::Channel>,
    tenant: &str,
    name: &str,
) -> Result<String, Failure> {
    let mut page_token = String::new();
    loop {
        let page = assets
            .list_assets(
                ctx.request(ListAssetsRequest {
                    tenant_id: tenant.into(),
                    page: Some(PageRequest {
                        page_size: 500,
                        page_token,
                    }),
                    ..Default::default()
                })
                .await?,
            )
            .await?
            .into_inner();
        if let Some(asset) = page
            .assets
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
        {
            return Ok(asset.asset_id.clone());
        }
        page_token = page.page.unwrap_or_default().next_page_token;
        if page_token.is_empty() {
            return Err(Failure::NotFound(format!("asset {name:?} of {tenant}")));
        }
    }
}

/// Runs a demo command.
pub async fn run(ctx: &Context, Demo::Seed: Demo) -> Result<(), Failure> {
    let mut identity = ctx.identity().await?;
    for (slug, name) in [("acme", "Acme AB"), ("globex", "Globex Sverige AB")] {
        let created = identity
            .create_tenant(keyed(
                ctx.request(CreateTenantRequest {
                    tenant_id: slug.into(),
                    name: name.into(),
                    organisation_number: "556036-0793".into(),
                    incident_contacts: vec![Contact {
                        name: "Operations".into(),
                        email: format!("ops@{slug}.example"),
                        phone: "+46 8 123 456".into(),
                        contact_id: String::new(),
                    }],
                    contract: Some(ContractTerms {
                        processing_categories: vec!["hosting".into(), "backup".into()],
                        security_measures: "ISO 27001 aligned operations, encrypted backups".into(),
                        dpa_reference: format!("DPA-{slug}-2026"),
                        ..Default::default()
                    }),
                    consistency: None,
                })
                .await?,
                &format!("tenant-{slug}"),
            ))
            .await;
        match created {
            Ok(_) => {}
            Err(status) if status.code() == tonic::Code::AlreadyExists => {}
            Err(status) => return Err(status.into()),
        }
    }
    let users = demo_users(ctx, &mut identity).await?;
    let mut token = ConsistencyToken::default();
    let mut assets = AssetsServiceClient::new(ctx.channel(Service::Assets).await?);
    let mut ids = Vec::new();
    for (tenant, name, kind, c, i, a) in ASSETS {
        let registered = assets
            .register_asset(keyed(
                ctx.request(RegisterAssetRequest {
                    tenant_id: tenant.into(),
                    name: name.into(),
                    kind: kind.into(),
                    classification: Some(Classification {
                        confidentiality: c,
                        integrity: i,
                        availability: a,
                    }),
                    classification_rationale: "demo data".into(),
                    ..Default::default()
                })
                .await?,
                &format!("asset-{tenant}-{name}"),
            ))
            .await;
        let id = match registered {
            Ok(registered) => {
                let registered = registered.into_inner();
                merge(&mut token, registered.consistency);
                registered.asset.unwrap_or_default().asset_id
            }
            // Someone registered an asset of that name already: use it.
            Err(status) if status.code() == tonic::Code::AlreadyExists => {
                existing_asset(ctx, &mut assets, tenant, name).await?
            }
            Err(status) => return Err(status.into()),
        };
        ids.push(id);
    }
    let mut incidents = IncidentsServiceClient::new(ctx.channel(Service::Incidents).await?);
    let scripted: [DemoIncident; 5] = [
        (
            "Phishing mail reported by staff",
            IncidentKind::SecurityIncident,
            None,
            &[],
        ),
        (
            "Acme mailboxes readable by another customer",
            IncidentKind::SecurityIncident,
            Some((Severity::High, 0)),
            &[],
        ),
        (
            "Globex VPN down for two hours",
            IncidentKind::SecurityIncident,
            Some((Severity::Medium, 5)),
            &[IncidentTransition::Contain],
        ),
        (
            "Backup job skipped a night",
            IncidentKind::Deviation,
            Some((Severity::Low, 7)),
            &[
                IncidentTransition::Contain,
                IncidentTransition::Resolve,
                IncidentTransition::Close,
            ],
        ),
        (
            "Use passkeys for the ticketing system",
            IncidentKind::ImprovementProposal,
            None,
            &[],
        ),
    ];
    for (title, kind, triage, transitions) in scripted {
        let reported = incidents
            .report_incident(keyed(
                ctx.request(ReportIncidentRequest {
                    kind: kind.into(),
                    title: title.into(),
                    description: format!("{title} (demo data)"),
                    ..Default::default()
                })
                .await?,
                &format!("incident-{title}"),
            ))
            .await?
            .into_inner();
        merge(&mut token, reported.consistency);
        let id = reported.incident_id;
        // A second run finds it already handled: leave it as it is.
        let current = incidents
            .get_incident(
                ctx.request(GetIncidentRequest {
                    incident_id: id.clone(),
                    consistency: Some(token.clone()),
                })
                .await?,
            )
            .await?
            .into_inner()
            .incident
            .unwrap_or_default();
        if current.status() != IncidentStatus::Reported {
            continue;
        }
        if let Some((severity, asset)) = triage {
            let customer_data = severity == Severity::High;
            let triaged = incidents
                .triage_incident(
                    ctx.request(TriageIncidentRequest {
                        incident_id: id.clone(),
                        triage: Some(TriageAssessment {
                            severity: severity.into(),
                            affected_properties: vec![
                                if customer_data {
                                    SecurityProperty::Confidentiality
                                } else {
                                    SecurityProperty::Availability
                                }
                                .into(),
                            ],
                            affected_assets: vec![AssetImpact {
                                asset_id: ids[asset].clone(),
                                ..Default::default()
                            }],
                            personal_data_breach: customer_data,
                            data_categories: if customer_data {
                                vec!["e-mail".into()]
                            } else {
                                Vec::new()
                            },
                            approx_data_subjects: if customer_data { 240 } else { 0 },
                            approx_records: if customer_data { 5_000 } else { 0 },
                            risk_to_data_subjects: if customer_data {
                                DataSubjectRisk::Risk.into()
                            } else {
                                0
                            },
                            ..Default::default()
                        }),
                        consistency: Some(token.clone()),
                    })
                    .await?,
                )
                .await?
                .into_inner();
            merge(&mut token, triaged.consistency);
        }
        for transition in transitions {
            if *transition == IncidentTransition::Close {
                incidents
                    .review_incident(
                        ctx.request(ReviewIncidentRequest {
                            incident_id: id.clone(),
                            root_cause: "The backup window overlapped a maintenance job.".into(),
                            lessons_learned: "Maintenance is now scheduled outside the window."
                                .into(),
                            consistency: None,
                        })
                        .await?,
                    )
                    .await?;
            }
            incidents
                .transition_incident(
                    ctx.request(TransitionIncidentRequest {
                        incident_id: id.clone(),
                        transition: (*transition).into(),
                        note: "demo data".into(),
                        consistency: None,
                    })
                    .await?,
                )
                .await?;
        }
    }
    if ctx.json {
        let users: Vec<_> = users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "email": u.email, "tenant_id": u.tenant, "role": u.role.word(),
                    "temporary_password": u.password,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "users": users }));
    } else {
        println!(
            "Demo data loaded: 2 customers, {} assets, 5 incidents.",
            ASSETS.len()
        );
        println!("Demo users (each changes the temporary password at first sign-in):");
        for user in &users {
            println!(
                "  {:<17} {:<26} {}",
                user.role.word(),
                user.email,
                user.password
            );
        }
    }
    Ok(())
}

/// (tenant, e-mail, display name, role) of the demo users: one per role, and a customer
/// user of each demo customer.
const USERS: [(&str, &str, &str, Role); 6] = [
    (
        "internal",
        "officer@tillit.local",
        "Sara Säker",
        Role::SecurityOfficer,
    ),
    (
        "internal",
        "manager@tillit.local",
        "Maja Chef",
        Role::Manager,
    ),
    (
        "internal",
        "employee@tillit.local",
        "Erik Anställd",
        Role::Employee,
    ),
    (
        "internal",
        "auditor@tillit.local",
        "Anna Revisor",
        Role::Auditor,
    ),
    ("acme", "alice@acme.example", "Alice Acme", Role::Customer),
    ("globex", "bob@globex.example", "Bob Globex", Role::Customer),
];

/// A demo user as seeded, with the temporary password it was given.
struct DemoUser {
    tenant: &'static str,
    email: &'static str,
    role: Role,
    password: String,
}

/// Creates each demo user, or gives an existing one a new temporary password: a password
/// is never stored by the CLI, so printing one means setting it.
async fn demo_users(
    ctx: &Context,
    identity: &mut tillit_proto::identity::identity_service_client::IdentityServiceClient<
        tonic::transport::Channel,
    >,
) -> Result<Vec<DemoUser>, Failure> {
    let mut seeded = Vec::new();
    for (tenant, email, name, role) in USERS {
        let password = temporary_password();
        let existing = identity
            .list_users(
                ctx.request(ListUsersRequest {
                    tenant_id: tenant.into(),
                    page: Some(PageRequest {
                        page_size: 500,
                        page_token: String::new(),
                    }),
                    ..Default::default()
                })
                .await?,
            )
            .await?
            .into_inner()
            .users
            .into_iter()
            .find(|u| u.email == email);
        match existing {
            Some(user) => {
                identity
                    .reset_password(
                        ctx.request(ResetPasswordRequest {
                            user_id: user.user_id,
                            temporary_password: password.clone(),
                            consistency: None,
                        })
                        .await?,
                    )
                    .await?;
            }
            None => {
                identity
                    .create_user(
                        ctx.request(CreateUserRequest {
                            tenant_id: tenant.into(),
                            email: email.into(),
                            display_name: name.into(),
                            roles: vec![role.into()],
                            temporary_password: password.clone(),
                            consistency: None,
                        })
                        .await?,
                    )
                    .await?;
            }
        }
        seeded.push(DemoUser {
            tenant,
            email,
            role,
            password,
        });
    }
    Ok(seeded)
}

/// 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I).
fn temporary_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    use rand::Rng as _;
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}
