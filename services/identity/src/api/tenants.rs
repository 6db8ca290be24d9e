//! Tenants: registering a customer, changing its details and contract terms, reading them.

use tillit_api::page::Page;
use tillit_auth::layer::caller;
use tillit_auth::{Caller, Permission};
use tillit_kernel::Reason;
use tillit_kernel::{AggregateId, CommandRequest, Target, TenantId};
use tillit_proto::identity::{
    Contact, ContractTerms, CreateTenantRequest, CreateTenantResponse, GetTenantRequest,
    GetTenantResponse, ListTenantsRequest, ListTenantsResponse, Tenant as TenantRow, TenantCreated,
    TenantDetailsChanged, TransferOutsideEu, UpdateTenantRequest, UpdateTenantResponse,
};
use tonic::{Request, Response, Status};

use super::admin::tenant_id;
use super::{IdentityApi, actor_of, meta, status};
use crate::domain::DomainError;
use crate::domain::tenant::TenantCommand;
use crate::domain::validate;

/// Default and largest page sizes of the tenant list.
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// Default notice hours when a contract leaves them at 0 (DOMAIN.md: 24).
const DEFAULT_NOTICE_HOURS: u32 = 24;

fn validate_contacts(contacts: &[Contact]) -> Result<Vec<Contact>, DomainError> {
    if contacts.is_empty() {
        return Err(DomainError::refused(
            "incident_contacts",
            Reason::Required,
            "at least one contact is required",
        ));
    }
    contacts
        .iter()
        .map(|c| {
            Ok(Contact {
                name: tillit_api::text::line("incident_contacts.name", &c.name, 200)?,
                email: validate::email("incident_contacts.email", &c.email)?,
                phone: tillit_api::text::line("incident_contacts.phone", &c.phone, 40)?,
                // Each contact is a data subject of its own: their details are sealed
                // under this id's key.
                contact_id: uuid::Uuid::now_v7().to_string(),
            })
        })
        .collect()
}

fn validate_contract(contract: Option<&ContractTerms>) -> Result<ContractTerms, DomainError> {
    let contract = contract.cloned().unwrap_or_default();
    let hours = |field: &'static str, value: u32| match value {
        0 => Ok(DEFAULT_NOTICE_HOURS),
        1..=8760 => Ok(value),
        _ => Err(DomainError::refused(
            field,
            Reason::OutOfRange,
            "must be between 1 and 8760 hours",
        )),
    };
    let transfers = contract
        .transfers_outside_eu
        .iter()
        .map(|t| {
            Ok(TransferOutsideEu {
                recipient: tillit_api::text::line(
                    "contract.transfers_outside_eu.recipient",
                    &t.recipient,
                    200,
                )?,
                country: tillit_api::text::line(
                    "contract.transfers_outside_eu.country",
                    &t.country,
                    60,
                )?,
                safeguard: t.safeguard.trim().to_owned(),
            })
        })
        .collect::<Result<_, DomainError>>()?;
    Ok(ContractTerms {
        breach_notice_hours: hours("contract.breach_notice_hours", contract.breach_notice_hours)?,
        outage_notice_hours: hours("contract.outage_notice_hours", contract.outage_notice_hours)?,
        transfers_outside_eu: transfers,
        ..contract
    })
}

/// The contacts of an update: one given with the id of a present contact keeps that id
/// (its details stay sealed under its own key); a new one keeps the fresh id
/// [`validate_contacts`] gave it; an id that is none of the tenant's is refused.
fn kept_contacts(
    validated: Vec<Contact>,
    given: &[Contact],
    present: &[Contact],
) -> Result<Vec<Contact>, DomainError> {
    validated
        .into_iter()
        .zip(given)
        .map(|(contact, asked)| match asked.contact_id.trim() {
            "" => Ok(contact),
            id if present.iter().any(|p| p.contact_id == id) => Ok(Contact {
                contact_id: id.to_owned(),
                ..contact
            }),
            _ => Err(DomainError::refused(
                "incident_contacts.contact_id",
                Reason::UnknownReference,
                "not one of this tenant's contacts",
            )),
        })
        .collect()
}

impl IdentityApi {
    /// Who reads other tenants: admins, auditors, and whoever manages obligations (the
    /// security officer tells customers of a breach or an outage, by their contacts and
    /// contract terms).
    pub(super) fn require_tenant_reader(caller: &Caller) -> Result<(), Status> {
        Ok(caller.require_any(&[
            Permission::ManageTenants,
            Permission::ReadEverything,
            Permission::ManageObligations,
        ])?)
    }

    pub(super) async fn create_tenant(
        &self,
        request: Request<CreateTenantRequest>,
    ) -> Result<Response<CreateTenantResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageTenants)?;
        let body = request.get_ref();
        let slug = tenant_id("tenant_id", &body.tenant_id)?;
        let created = TenantCreated {
            tenant_id: slug.as_str().to_owned(),
            name: tillit_api::text::line("name", &body.name, 200)?,
            organisation_number: validate::organisation_number(
                "organisation_number",
                &body.organisation_number,
            )?,
            incident_contacts: validate_contacts(&body.incident_contacts)?,
            contract: Some(validate_contract(body.contract.as_ref())?),
        };
        let executed = self
            .identity
            .tenants
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::At(AggregateId::parse(slug.as_str(), "tenant_id")?),
                name: "tillit.identity.v1.CreateTenant".into(),
                command: TenantCommand::Create(created.clone()),
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(CreateTenantResponse {
            tenant: Some(TenantRow {
                tenant_id: created.tenant_id,
                name: created.name,
                organisation_number: created.organisation_number,
                incident_contacts: created.incident_contacts,
                contract: created.contract,
                status: tillit_proto::identity::TenantStatus::Active.into(),
            }),
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn get_tenant(
        &self,
        request: Request<GetTenantRequest>,
    ) -> Result<Response<GetTenantResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let slug = tenant_id("tenant_id", &request.get_ref().tenant_id)?;
        caller.scope(&slug, "tenant")?;
        if caller.tenant != slug {
            Self::require_tenant_reader(&caller)?;
        }
        let tenant = self
            .find("tenant", || self.identity.directory.tenant(slug.as_str()))
            .await?;
        Ok(Response::new(GetTenantResponse {
            tenant: Some(tenant),
        }))
    }

    pub(super) async fn list_tenants(
        &self,
        request: Request<ListTenantsRequest>,
    ) -> Result<Response<ListTenantsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let only = if caller.tenant.is_internal() {
            Self::require_tenant_reader(&caller)?;
            None
        } else {
            Some(caller.tenant.as_str().to_owned())
        };
        let page = Page::of(request.get_ref().page.as_ref(), DEFAULT_PAGE, MAX_PAGE)?;
        let after = page.cursor(Some)?;
        let tenants = self
            .identity
            .directory
            .tenants(only.as_deref(), after, page.limit)?;
        let next = page.next(&tenants, |t| t.tenant_id.clone());
        Ok(Response::new(ListTenantsResponse {
            tenants,
            page: next,
        }))
    }

    pub(super) async fn update_tenant(
        &self,
        request: Request<UpdateTenantRequest>,
    ) -> Result<Response<UpdateTenantResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ManageTenants)?;
        let body = request.get_ref();
        let slug = tenant_id("tenant_id", &body.tenant_id)?;
        if slug.is_internal() {
            return Err(DomainError::refused(
                "tenant_id",
                Reason::NotOneOf,
                "the consultancy's own tenant has no contract",
            )
            .into());
        }
        let current = self
            .find("tenant", || self.identity.directory.tenant(slug.as_str()))
            .await?;
        let changed = TenantDetailsChanged {
            tenant_id: slug.as_str().to_owned(),
            name: tillit_api::text::line("name", &body.name, 200)?,
            organisation_number: validate::organisation_number(
                "organisation_number",
                &body.organisation_number,
            )?,
            incident_contacts: kept_contacts(
                validate_contacts(&body.incident_contacts)?,
                &body.incident_contacts,
                &current.incident_contacts,
            )?,
            contract: Some(validate_contract(body.contract.as_ref())?),
        };
        let executed = self
            .identity
            .tenants
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::Existing(AggregateId::parse(slug.as_str(), "tenant_id")?),
                name: "tillit.identity.v1.UpdateTenant".into(),
                command: TenantCommand::Update(changed.clone()),
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(UpdateTenantResponse {
            tenant: Some(TenantRow {
                tenant_id: changed.tenant_id,
                name: changed.name,
                organisation_number: changed.organisation_number,
                incident_contacts: changed.incident_contacts,
                contract: changed.contract,
                status: current.status,
            }),
            consistency: Some(executed.consistency()),
        }))
    }
}
