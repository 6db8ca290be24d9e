//! CSV import: `tenant,name,kind,owner_email,c,i,a[,external_key]`, one asset per row.
//! Each row is validated on its own and refused rows are reported by line number; the
//! others are registered. An asset is identified by its import key (or its name) within
//! its tenant, through reservations, so importing the same file again appends nothing.

use tillit_auth::Permission;
use tillit_auth::layer::caller;
use tillit_kernel::Reason;
use tillit_proto::assets::{
    AssetRegistered, Classification, ImportAssetsRequest, ImportAssetsResponse, ImportError,
    ImportLine, ImportOutcome,
};
use tillit_proto::common::{ConsistencyToken, Position};
use tonic::{Request, Response, Status};

use super::commands::{NewAsset, Registration};
use super::errors;
use super::{AssetsApi, meta};
use crate::domain::DomainError;
use crate::domain::validate;

/// The columns, in order.
const COLUMNS: [&str; 8] = [
    "tenant",
    "name",
    "kind",
    "owner_email",
    "c",
    "i",
    "a",
    "external_key",
];

/// Most rows in one import.
const MAX_ROWS: usize = 10_000;

impl AssetsApi {
    /// Parses and validates one row.
    fn import_row(
        &self,
        caller: &tillit_auth::Caller,
        row: &csv::StringRecord,
    ) -> Result<NewAsset, DomainError> {
        let cell = |i: usize| row.get(i).unwrap_or("").trim();
        let tenant = self.tenant_for(caller, "tenant", cell(0))?;
        let name = tillit_api::text::line("name", cell(1), 200)?;
        let kind = validate::kind("kind", cell(2))?;
        let email = cell(3).to_lowercase();
        let lookup = self.assets.store.lookup(&email)?;
        let owner = self
            .assets
            .identity
            .user_by_email_lookup(&lookup)?
            .ok_or_else(|| {
                DomainError::refused(
                    "owner_email",
                    Reason::UnknownReference,
                    "no user with this e-mail address",
                )
            })?;
        let owner = self.owner("owner_email", &owner)?;
        if !caller.may(Permission::ManageAssets) && owner != caller.subject {
            return Err(DomainError::invalid(
                "owner_email",
                "an employee imports assets it owns itself",
            ));
        }
        let level = |i: usize, field: &str| -> Result<u32, DomainError> {
            let value = cell(i).parse::<u32>().map_err(|_| {
                DomainError::refused(field, Reason::Malformed, "must be a number 1 to 4")
            })?;
            validate::level(field, value)
        };
        let classification = Classification {
            confidentiality: level(4, "c")?,
            integrity: level(5, "i")?,
            availability: level(6, "a")?,
        };
        let external_key = cell(7);
        if external_key.len() > 200 {
            return Err(DomainError::refused(
                "external_key",
                Reason::TooLong,
                "must be at most 200 characters",
            ));
        }
        Ok(NewAsset {
            tenant,
            registered: AssetRegistered {
                name,
                kind,
                owner_user_id: owner,
                external_key: external_key.to_owned(),
                ..Default::default()
            },
            classification: Some((classification, "imported".into())),
        })
    }

    pub(super) async fn import_assets(
        &self,
        request: Request<ImportAssetsRequest>,
    ) -> Result<Response<ImportAssetsResponse>, Status> {
        self.wait(request.get_ref().consistency.as_ref()).await?;
        let caller = caller(&request)?;
        caller.require_any(&[Permission::ManageAssets, Permission::RegisterAssets])?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(request.get_ref().csv.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| {
                DomainError::refused("csv", Reason::Malformed, format!("unreadable header: {e}"))
            })?
            .iter()
            .map(str::to_lowercase)
            .collect();
        if header.len() < 7 || header.iter().zip(COLUMNS).any(|(have, want)| have != want) {
            return Err(DomainError::refused(
                "csv",
                Reason::Malformed,
                format!("the header must be {}", COLUMNS.join(",")),
            )
            .into());
        }

        let mut answer = ImportAssetsResponse::default();
        let mut last: Option<Position> = None;
        // Every limit before anything is created: a file over it changes nothing.
        let records: Vec<_> = reader.records().take(MAX_ROWS + 1).collect();
        if records.len() > MAX_ROWS {
            return Err(DomainError::refused(
                "csv",
                Reason::TooMany,
                format!("at most {MAX_ROWS} rows per import"),
            )
            .into());
        }
        for (index, record) in records.into_iter().enumerate() {
            let line = u32::try_from(index + 2).unwrap_or(u32::MAX);
            let row = match record {
                Ok(row) => row,
                Err(e) => {
                    refuse(
                        &mut answer,
                        line,
                        String::new(),
                        "csv".into(),
                        e.to_string(),
                    );
                    continue;
                }
            };
            let line = row
                .position()
                .map_or(line, |p| u32::try_from(p.line()).unwrap_or(line));
            let name = row.get(1).unwrap_or("").trim().to_owned();
            let asset = match self.import_row(&caller, &row) {
                Ok(asset) => asset,
                Err(DomainError::Invalid { field, reason, .. }) => {
                    refuse(&mut answer, line, name, field, reason);
                    continue;
                }
                Err(other) => return Err(other.into()),
            };
            let mut row_meta = meta(&request, &caller);
            row_meta.idempotency_key = None;
            match self.register(row_meta, asset).await {
                Ok(Registration::Created(executed)) => {
                    answer.created += 1;
                    answer.lines.push(ImportLine {
                        line,
                        name,
                        outcome: ImportOutcome::Created.into(),
                        asset_id: executed.state.asset_id.clone(),
                        ..Default::default()
                    });
                    if let Some(position) = executed.position
                        && last.as_ref().is_none_or(|l| l.sequence < position.sequence)
                    {
                        last = Some(position);
                    }
                }
                Ok(Registration::Existed) => {
                    answer.unchanged += 1;
                    answer.lines.push(ImportLine {
                        line,
                        name,
                        outcome: ImportOutcome::Unchanged.into(),
                        ..Default::default()
                    });
                }
                Ok(Registration::NameTaken) => {
                    let message = errors::NAME_TAKEN.to_owned();
                    refuse(&mut answer, line, name, "name".into(), message);
                }
                Err(status) => return Err(status),
            }
        }
        answer.consistency = Some(ConsistencyToken {
            positions: last.into_iter().collect(),
        });
        Ok(Response::new(answer))
    }
}

/// A refused line, in the errors and in the lines.
fn refuse(
    answer: &mut ImportAssetsResponse,
    line: u32,
    name: String,
    field: String,
    message: String,
) {
    answer.errors.push(ImportError {
        line,
        field: field.clone(),
        message: message.clone(),
    });
    answer.lines.push(ImportLine {
        line,
        name,
        outcome: ImportOutcome::Refused.into(),
        field,
        message,
        ..Default::default()
    });
}
