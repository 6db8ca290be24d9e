//! A platform with identity, assets and incidents, tenants acme and globex, and users with
//! tokens: what the service tests beyond identity start from.

use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::incidents::incidents_service_client::IncidentsServiceClient;
use tonic::transport::Channel;

use crate::assets::{self, Service, start_assets, start_incidents, start_reporting};
use crate::identity::{Identity, bearer, start_identity, test_config};
use tillit_proto::identity::{Contact, ContractTerms, CreateTenantRequest};
use tillit_testkit::NatsServer;

pub use crate::identity::stream_messages;

/// NATS, identity, assets, and tokens of the people the tests need.
pub struct Platform {
    pub nats: NatsServer,
    pub _data: tempfile::TempDir,
    /// Kept running for the test's lifetime.
    pub _identity: Identity,
    pub assets: Service,
    pub incidents: Service,
    pub officer: (String, String),
    pub employee: (String, String),
    pub auditor: String,
    pub alice: String,
    pub bob: String,
}

impl Platform {
    /// An assets client.
    pub async fn assets(&self) -> AssetsServiceClient<Channel> {
        AssetsServiceClient::new(self.assets.channel().await)
    }

    /// Starts a reporting service over the platform's streams, its clock shifted by
    /// `clock_offset` (to see today's deadlines as past), with its own data directory.
    pub async fn reporting(&self, clock_offset: time::Duration) -> (Service, tempfile::TempDir) {
        self.reporting_with(clock_offset, &[]).await
    }

    /// [`Platform::reporting`] with `extra` settings.
    pub async fn reporting_with(
        &self,
        clock_offset: time::Duration,
        extra: &[(&str, &str)],
    ) -> (Service, tempfile::TempDir) {
        let data = tempfile::tempdir().expect("dir");
        let mut config = assets::reporting_config_with(&self.nats.url(), data.path(), extra);
        config.clock = tillit_kernel::Clock::offset(clock_offset);
        (start_reporting(config).await, data)
    }

    /// An incidents client.
    pub async fn incidents(&self) -> IncidentsServiceClient<Channel> {
        IncidentsServiceClient::new(self.incidents.channel().await)
    }
}

/// A token and the user id behind it.
fn pair(
    user: tillit_proto::identity::User,
    login: tillit_proto::identity::LoginResponse,
) -> (String, String) {
    (login.access_token, user.user_id)
}

impl Platform {
    pub async fn start() -> Self {
        Self::start_with_clock(tillit_kernel::Clock::system()).await
    }

    /// A platform whose assets and incidents services run on `clock` (identity keeps the
    /// system clock, so its tokens stay valid), for scripting a year of events.
    pub async fn start_with_clock(clock: tillit_kernel::Clock) -> Self {
        let nats = NatsServer::start();
        let data = tempfile::tempdir().expect("dir");
        let identity = start_identity(test_config(&nats.url(), data.path(), &[])).await;
        let admin = identity.admin_token().await;
        let mut client = identity.client().await;
        for slug in ["acme", "globex"] {
            client
                .create_tenant(bearer(
                    &admin,
                    CreateTenantRequest {
                        tenant_id: slug.into(),
                        name: format!("{slug} AB"),
                        organisation_number: "556036-0793".into(),
                        incident_contacts: vec![Contact {
                            name: "Ops".into(),
                            email: format!("ops@{slug}.example"),
                            phone: "+46 8 1".into(),
                            contact_id: String::new(),
                        }],
                        contract: Some(ContractTerms {
                            processing_categories: vec!["hosting".into(), "backup".into()],
                            security_measures: "ISO 27001 aligned operations".into(),
                            dpa_reference: format!("DPA-{slug}-2026"),
                            ..Default::default()
                        }),
                        consistency: None,
                    },
                ))
                .await
                .expect("tenant");
        }
        let (o, ol, _) = identity
            .create_user(
                &admin,
                "internal",
                "olle@tillit.test",
                &["security_officer"],
            )
            .await;
        let (e, el, _) = identity
            .create_user(&admin, "internal", "erik@tillit.test", &["employee"])
            .await;
        let (_, auditor, _) = identity
            .create_user(&admin, "internal", "ada@tillit.test", &["auditor"])
            .await;
        let (_, alice, _) = identity
            .create_user(&admin, "acme", "alice@acme.example", &["customer"])
            .await;
        let (_, bob, _) = identity
            .create_user(&admin, "globex", "bob@globex.example", &["customer"])
            .await;
        let mut assets_config = assets::test_config(&nats.url(), data.path());
        assets_config.clock = clock.clone();
        let assets = start_assets(assets_config).await;
        let mut incidents_config = assets::incidents_config(&nats.url(), data.path());
        incidents_config.clock = clock;
        let incidents = start_incidents(incidents_config).await;
        Self {
            nats,
            _data: data,
            _identity: identity,
            assets,
            incidents,
            officer: pair(o, ol),
            employee: pair(e, el),
            auditor: auditor.access_token,
            alice: alice.access_token,
            bob: bob.access_token,
        }
    }
}

/// The officer registers a C3/I3/A3 service of `tenant`; answers its id and token.
pub async fn register_asset(
    platform: &Platform,
    tenant: &str,
    name: &str,
) -> (String, tillit_proto::common::ConsistencyToken) {
    let registered = platform
        .assets()
        .await
        .register_asset(crate::identity::bearer(
            &platform.officer.0,
            tillit_proto::assets::RegisterAssetRequest {
                tenant_id: tenant.into(),
                name: name.into(),
                kind: tillit_proto::assets::AssetKind::Service.into(),
                classification: Some(tillit_proto::assets::Classification {
                    confidentiality: 3,
                    integrity: 3,
                    availability: 3,
                }),
                classification_rationale: "customer service".into(),
                ..Default::default()
            },
        ))
        .await
        .expect("asset")
        .into_inner();
    (
        registered.asset.expect("asset").asset_id,
        registered.consistency.expect("token"),
    )
}

/// Every stream of the platform.
pub const STREAMS: [&str; 5] = [
    "IDENTITY",
    "CREDENTIALS",
    "ASSETS",
    "INCIDENTS",
    "REPORTING",
];

/// A token naming the last commit of every stream: a query carrying it sees everything
/// written so far.
pub async fn everything(platform: &Platform) -> tillit_proto::common::ConsistencyToken {
    let js = async_nats::jetstream::new(platform.nats.client().await);
    let mut positions = Vec::new();
    for name in STREAMS {
        let mut stream = js.get_stream(name).await.expect("stream");
        let last = stream.info().await.expect("info").state.last_sequence;
        if last > 0 {
            positions.push(tillit_proto::common::Position {
                stream: name.into(),
                sequence: last,
            });
        }
    }
    tillit_proto::common::ConsistencyToken { positions }
}
