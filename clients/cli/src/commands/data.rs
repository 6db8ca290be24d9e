//! `tillit data`: a data subject's rights. The export (GDPR Art. 15) and erasure (Art. 17),
//! asked for by one person and approved by another.

use clap::Subcommand;
use tillit_proto::identity::{
    ApproveErasureRequest, EraseDataSubjectRequest, ExportDataSubjectRequest,
};

use super::Context;
use crate::failure::Failure;
use crate::output;

/// `tillit data …`.
#[derive(Subcommand)]
pub enum Data {
    /// Everything Tillit holds about a data subject, opened, as JSON (yours without
    /// --subject).
    #[command(after_help = "Examples:\n  tillit data export -o my-data.json\n  \
        tillit data export --subject 0192… -o subject.json")]
    Export {
        /// The data subject: a user id or a customer contact id.
        #[arg(long)]
        subject: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
    },
    /// Ask to erase a data subject (security officer, admin); nothing is erased until a
    /// manager or admin other than you approves.
    #[command(
        after_help = "Example:\n  tillit data erase 0192… --reason \"Art. 17 request, case 2026-118\""
    )]
    Erase {
        /// The data subject: a user id (of a deactivated account) or a contact id.
        subject: String,
        /// Why: a case reference, no personal details.
        #[arg(long)]
        reason: String,
    },
    /// Approve an erasure request (manager, admin; not your own): destroys the subject's
    /// keys, so every personal value of theirs reads as erased from then on.
    #[command(after_help = "Example:\n  tillit data approve 0192…")]
    Approve {
        /// The erasure request's id, as `tillit data erase` printed it.
        erasure_id: String,
    },
}

/// Runs a data command.
pub async fn run(ctx: &Context, command: Data) -> Result<(), Failure> {
    let mut identity = ctx.identity().await?;
    match command {
        Data::Export { subject, output } => {
            let export = identity
                .export_data_subject(
                    ctx.request(ExportDataSubjectRequest {
                        subject_id: subject.unwrap_or_default(),
                        consistency: None,
                    })
                    .await?,
                )
                .await?
                .into_inner();
            match &output {
                Some(path) => std::fs::write(path, export.json)
                    .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))?,
                None => println!("{}", export.json),
            }
        }
        Data::Erase { subject, reason } => {
            let requested = identity
                .erase_data_subject(
                    ctx.request(EraseDataSubjectRequest {
                        subject_id: subject.clone(),
                        reason,
                        consistency: None,
                    })
                    .await?,
                )
                .await?
                .into_inner();
            output::record(
                ctx.json,
                vec![
                    ("subject", subject),
                    ("erasure_id", requested.erasure_id.clone()),
                    (
                        "next",
                        format!(
                            "a manager or admin other than you runs: tillit data approve {}",
                            requested.erasure_id
                        ),
                    ),
                ],
            );
        }
        Data::Approve { erasure_id } => {
            let approved = identity
                .approve_erasure(
                    ctx.request(ApproveErasureRequest {
                        erasure_id: erasure_id.clone(),
                        consistency: None,
                    })
                    .await?,
                )
                .await?
                .into_inner();
            output::record(
                ctx.json,
                vec![
                    ("erasure_id", erasure_id),
                    ("erased_subject", approved.subject_id),
                ],
            );
        }
    }
    Ok(())
}
