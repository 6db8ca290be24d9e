//! A data subject's rights (GDPR Art. 15 and 17): the export of everything the streams hold
//! about a person, and erasure, asked for by one person and approved by another, refused
//! while a legal hold applies. Erasure destroys the subject's keys: every sealed value of
//! theirs reads as erased from then on, in every service and every rebuild.

use std::sync::Arc;

use tillit_api::Refusal;
use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_incidents_views::register::{IncidentRegister, Reader};
use tillit_kernel::personal::export::{EXPORTED_STREAMS, records};
use tillit_kernel::{
    AggregateId, CommandRequest, KernelError, Projection as _, Reason, Target, TenantId,
};
use tillit_proto::common::Position;
use tillit_proto::identity::{
    ApproveErasureRequest, ApproveErasureResponse, EraseDataSubjectRequest,
    EraseDataSubjectResponse, ErasureRequested, ExportDataSubjectRequest,
    ExportDataSubjectResponse, ListErasuresRequest, ListErasuresResponse,
};
use tillit_proto::incidents::{Incident, IncidentStatus, ObligationStatus};
use tonic::{Request, Response, Status};

use super::{IdentityApi, actor_of, meta, status};
use crate::domain::DomainError;
use crate::domain::erasure::ErasureCommand;

/// How long a closed breach record is kept (docs/personal-data.md).
const BREACH_RETENTION: time::Duration = time::Duration::days(5 * 365);

impl IdentityApi {
    pub(super) async fn erase_data_subject(
        &self,
        request: Request<EraseDataSubjectRequest>,
    ) -> Result<Response<EraseDataSubjectResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::RequestErasure)?;
        let body = request.get_ref();
        let subject = subject_id(&body.subject_id)?;
        let reason = tillit_api::text::line("reason", &body.reason, 500)?;
        let kind = self.subject_kind(&subject).await?;
        if kind == "user" {
            self.require_deactivated(&subject).await?;
        }
        self.refuse_under_hold(&subject).await?;
        let id = self.erasure_id(&subject);
        let executed = self
            .identity
            .erasures
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::At(id.clone()),
                name: "tillit.identity.v1.EraseDataSubject".into(),
                command: ErasureCommand::Request(ErasureRequested {
                    subject_id: subject.clone(),
                    subject_kind: kind.into(),
                    reason,
                    requested_by: caller.subject.clone(),
                }),
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        Ok(Response::new(EraseDataSubjectResponse {
            erasure_id: id.as_str().to_owned(),
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn list_erasures(
        &self,
        request: Request<ListErasuresRequest>,
    ) -> Result<Response<ListErasuresResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::RequestErasure, Permission::ApproveErasure])?;
        let pending_only = request.get_ref().pending_only;
        let erasures = self
            .identity
            .compliance
            .erasures()?
            .into_iter()
            .filter(|e| !pending_only || e.approved_by.is_empty())
            .collect();
        Ok(Response::new(ListErasuresResponse { erasures }))
    }

    pub(super) async fn approve_erasure(
        &self,
        request: Request<ApproveErasureRequest>,
    ) -> Result<Response<ApproveErasureResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require(Permission::ApproveErasure)?;
        let id = AggregateId::parse(&request.get_ref().erasure_id, "erasure_id")?;
        let address = self
            .identity
            .erasures
            .address(&TenantId::internal(), id.clone());
        let (state, _) = self.identity.erasures.load(&address).await?;
        let Some(requested) = state.requested.clone() else {
            return Err(tillit_api::Refusal::NotFound("erasure request").into());
        };
        // A hold may have begun since the request (the person reported an incident).
        if state.approved_by.is_none() {
            self.refuse_under_hold(&requested.subject_id).await?;
        }
        let executed = self
            .identity
            .erasures
            .execute(CommandRequest {
                tenant: TenantId::internal(),
                target: Target::Existing(id),
                name: "tillit.identity.v1.ApproveErasure".into(),
                command: ErasureCommand::Approve {
                    approver: caller.subject.clone(),
                },
                meta: meta(&request, actor_of(&caller)),
            })
            .await
            .map_err(status)?;
        if requested.subject_kind == "user" && !executed.replayed {
            self.release_email(&requested.subject_id, &request).await?;
        }
        // After the event: should this fail, the approval is recorded and every service
        // destroys the key at its next start; approving again destroys it now.
        self.identity
            .store
            .vault()?
            .keys()
            .destroy(&requested.subject_id, executed.address.id.as_str())
            .await?;
        tracing::info!(subject = %requested.subject_id, approved_by = %caller.subject, "data subject erased");
        Ok(Response::new(ApproveErasureResponse {
            subject_id: requested.subject_id,
            consistency: Some(executed.consistency()),
        }))
    }

    pub(super) async fn export_data_subject(
        &self,
        request: Request<ExportDataSubjectRequest>,
    ) -> Result<Response<ExportDataSubjectResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        let subject = match request.get_ref().subject_id.as_str() {
            "" => caller.subject.clone(),
            raw => subject_id(raw)?,
        };
        if subject != caller.subject {
            caller.require(Permission::ExportPersonalData)?;
            self.subject_kind(&subject).await?;
        }
        let store = &self.identity.store;
        let records = records(store, &EXPORTED_STREAMS, &subject).await?;
        let erased = store.vault()?.keys().is_destroyed(&subject).await?;
        let document = serde_json::json!({
            "subject_id": subject,
            "generated_at": tillit_kernel::clock::rfc3339(store.clock().now()),
            "erased": erased,
            "records": records,
        });
        Ok(Response::new(ExportDataSubjectResponse {
            json: serde_json::to_string_pretty(&document)
                .map_err(|e| Status::internal(e.to_string()))?,
        }))
    }

    /// "user" or "contact"; NOT_FOUND for neither (or a user the caller may not see).
    async fn subject_kind(&self, subject: &str) -> Result<&'static str, Status> {
        if let Ok(id) = AggregateId::parse(subject, "subject_id")
            && self.identity.directory.user(id.as_str())?.is_some()
        {
            return Ok("user");
        }
        let tenants = self.identity.directory.tenants(None, None, usize::MAX)?;
        if tenants
            .iter()
            .flat_map(|t| &t.incident_contacts)
            .any(|c| c.contact_id == subject)
        {
            return Ok("contact");
        }
        Err(tillit_api::Refusal::NotFound("data subject").into())
    }

    /// A user is erased only once deactivated: an erased person does not sign in.
    /// Read from the user's own stream, not the directory: a deactivation a moment ago
    /// counts even before the directory has applied it.
    async fn require_deactivated(&self, user_id: &str) -> Result<(), Status> {
        let Some(row) = self.identity.directory.user(user_id)? else {
            return Ok(());
        };
        let tenant = TenantId::parse(&row.tenant_id, "subject_id")?;
        let id = AggregateId::parse(user_id, "subject_id")?;
        let (user, _) = self
            .identity
            .users
            .load(&self.identity.users.address(&tenant, id))
            .await?;
        if user.active {
            return Err(Refusal::Precondition(format!(
                "user {user_id} is active: deactivate the account before erasing it"
            ))
            .into());
        }
        Ok(())
    }

    /// Frees the erased user's e-mail address (while it can still be opened), so the person
    /// may be given a new account later.
    async fn release_email<T>(&self, user_id: &str, request: &Request<T>) -> Result<(), Status> {
        let Some(row) = self.identity.directory.user(user_id)? else {
            return Ok(());
        };
        let store = &self.identity.store;
        let email = store.vault()?.reveal_text(&row.email).await?;
        if email == tillit_kernel::personal::ERASED {
            return Ok(());
        }
        let tenant = TenantId::parse(&row.tenant_id, "subject_id")?;
        let owner = self
            .identity
            .users
            .address(&tenant, AggregateId::parse(user_id, "subject_id")?);
        let caller = caller(request)?;
        let released = self
            .identity
            .reservations
            .release(
                &TenantId::internal(),
                &super::email_key(store, &email)?,
                &owner,
                meta(request, actor_of(&caller)),
            )
            .await;
        match released {
            // Released by an earlier approval whose key destruction failed.
            Ok(_) | Err(tillit_kernel::ReservationError::NotHeld { .. }) => Ok(()),
            Err(error) => Err(super::errors::reservation(error)),
        }
    }

    /// The erasure request of `subject`: one per subject, under `internal`.
    fn erasure_id(&self, subject: &str) -> AggregateId {
        AggregateId::derived(&TenantId::internal(), "erasure", subject)
    }

    /// FAILED_PRECONDITION naming the hold when `subject` reported an incident, or owns an
    /// action of one, that is open with pending obligations, or that is a breach record
    /// still inside its retention.
    async fn refuse_under_hold(&self, subject: &str) -> Result<(), Status> {
        let now = self.identity.store.clock().now();
        let register = self.incident_register().await?;
        let linked = register.incidents(None, usize::MAX, |incident| {
            incident.reporter == subject
                || incident.actions.iter().any(|a| a.owner_user_id == subject)
        })?;
        for (incident, _) in linked {
            if let Some(hold) = hold_of(&incident, now) {
                return Err(Refusal::Precondition(format!(
                    "legal hold on {subject}: {hold}; erase after it ends"
                ))
                .into());
            }
        }
        Ok(())
    }

    /// The incident register as the INCIDENTS stream holds it now, built in memory: the
    /// rare legal-hold check reads the whole stream rather than keep a copy in identity.
    async fn incident_register(&self) -> Result<Reader, KernelError> {
        let commits = self.identity.store.read_stream("INCIDENTS").await?;
        tokio::task::spawn_blocking(move || {
            let db = redb::Builder::new()
                .create_with_backend(redb::backends::InMemoryBackend::new())
                .map_err(|e| KernelError::Internal(format!("an in-memory register: {e}")))?;
            let tx = db.begin_write()?;
            for (sequence, commit) in &commits {
                let position = Position {
                    stream: "INCIDENTS".into(),
                    sequence: *sequence,
                };
                IncidentRegister.apply(&tx, commit, &position)?;
            }
            tx.commit()?;
            Ok(Reader::new(Arc::new(db)))
        })
        .await
        .map_err(|e| KernelError::Internal(format!("building the register: {e}")))?
    }
}

/// Why `incident` holds its people's data, if it does.
fn hold_of(incident: &Incident, now: time::OffsetDateTime) -> Option<String> {
    let id = &incident.incident_id;
    let open = !matches!(
        incident.status(),
        IncidentStatus::Closed | IncidentStatus::Rejected
    );
    if open
        && incident
            .obligations
            .iter()
            .any(|o| o.status() == ObligationStatus::Pending)
    {
        return Some(format!("incident {id} is open with pending obligations"));
    }
    let breach = incident
        .triage
        .as_ref()
        .is_some_and(|t| t.personal_data_breach);
    if !breach {
        return None;
    }
    let closed = incident
        .closed_at
        .as_ref()
        .and_then(tillit_kernel::clock::from_timestamp);
    match closed {
        None => Some(format!("breach record {id} is still open")),
        Some(at) if at + BREACH_RETENTION > now => Some(format!(
            "breach record {id} is kept until {} (GDPR Art. 33(5))",
            tillit_kernel::clock::rfc3339(at + BREACH_RETENTION)
        )),
        Some(_) => None,
    }
}

/// A data-subject id: what a key id may be.
fn subject_id(raw: &str) -> Result<String, Status> {
    if tillit_kernel::personal::token::valid_key_id(raw) {
        Ok(raw.to_owned())
    } else {
        Err(DomainError::refused(
            "subject_id",
            if raw.is_empty() {
                Reason::Required
            } else {
                Reason::Malformed
            },
            "a user id or contact id",
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use tillit_kernel::clock::to_timestamp;
    use tillit_proto::incidents::{Obligation, TriageAssessment};
    use time::macros::datetime;

    use super::*;

    fn breach(closed: Option<time::OffsetDateTime>) -> Incident {
        Incident {
            incident_id: "i1".into(),
            status: if closed.is_some() {
                IncidentStatus::Closed
            } else {
                IncidentStatus::Triaged
            }
            .into(),
            triage: Some(TriageAssessment {
                personal_data_breach: true,
                ..Default::default()
            }),
            closed_at: closed.map(to_timestamp),
            ..Default::default()
        }
    }

    #[test]
    fn an_open_breach_and_one_inside_its_retention_hold_and_an_old_one_does_not() {
        let now = datetime!(2026-12-03 12:00 UTC);
        assert!(hold_of(&breach(None), now).unwrap().contains("still open"));
        let recent = hold_of(&breach(Some(datetime!(2025-01-01 0:00 UTC))), now).unwrap();
        assert!(recent.contains("kept until 2029-12-31"), "{recent}");
        assert_eq!(
            hold_of(&breach(Some(datetime!(2020-01-01 0:00 UTC))), now),
            None
        );
    }

    #[test]
    fn pending_obligations_of_an_open_incident_hold() {
        let now = datetime!(2026-12-03 12:00 UTC);
        let mut incident = Incident {
            incident_id: "i2".into(),
            status: IncidentStatus::Triaged.into(),
            obligations: vec![Obligation {
                status: ObligationStatus::Pending.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(
            hold_of(&incident, now)
                .unwrap()
                .contains("pending obligations")
        );
        incident.obligations[0].status = ObligationStatus::Met.into();
        assert_eq!(hold_of(&incident, now), None);
        assert!(subject_id("").is_err() && subject_id("a.b").is_err());
    }
}
