//! assets list | show | import.

use clap::{Args, Subcommand};
use tillit_proto::Vocabulary as _;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::assets::{
    Asset, AssetKind, GetAssetRequest, ImportAssetsRequest, ListAssetsRequest,
};
use tillit_proto::common::PageRequest;
use tonic::transport::Channel;

use super::identity::all_pages;
use super::{Context, word_value};
use crate::failure::Failure;
use crate::output;
use crate::session::Service;

/// Lines sent to the service per import request (one progress step each).
const IMPORT_CHUNK: usize = 200;

/// `tillit assets`.
#[derive(Subcommand)]
pub enum Assets {
    /// List assets.
    #[command(after_help = "Example:\n  tillit assets list --tenant acme")]
    List(List),
    /// Show one asset.
    #[command(after_help = "Example:\n  tillit assets show 0192…")]
    Show {
        /// Asset id.
        id: String,
    },
    /// Import assets from CSV: tenant,name,kind,owner_email,c,i,a[,external_key].
    #[command(after_help = "Example:\n  tillit assets import assets.csv\n\n\
        Refused lines are listed by line number; the exit code is then 1.")]
    Import {
        /// The CSV file (with a header line).
        file: std::path::PathBuf,
    },
}

/// `tillit assets list`.
#[derive(Args)]
pub struct List {
    /// Only this tenant.
    #[arg(long)]
    tenant: Option<String>,
    /// Only this kind.
    #[arg(long)]
    kind: Option<String>,
}

async fn client(ctx: &Context) -> Result<AssetsServiceClient<Channel>, Failure> {
    Ok(AssetsServiceClient::new(
        ctx.channel(Service::Assets).await?,
    ))
}

fn levels(asset: &Asset) -> String {
    asset.classification.map_or_else(String::new, |c| {
        format!(
            "C{} I{} A{}",
            c.confidentiality, c.integrity, c.availability
        )
    })
}

/// Runs an assets command.
pub async fn run(ctx: &Context, command: Assets) -> Result<(), Failure> {
    let mut assets = client(ctx).await?;
    match command {
        Assets::List(args) => {
            let kind = word_value::<AssetKind>("--kind", args.kind.as_deref().unwrap_or(""))?;
            let found = all_pages!(
                async |page| {
                    let request = ctx
                        .request(ListAssetsRequest {
                            tenant_id: args.tenant.clone().unwrap_or_default(),
                            kind,
                            page: Some(page),
                            ..Default::default()
                        })
                        .await?;
                    assets.list_assets(request).await.map_err(Failure::from)
                },
                assets
            );
            output::table(
                ctx.json,
                &["asset_id", "tenant", "name", "kind", "class", "owner"],
                found
                    .into_iter()
                    .map(|a| {
                        let class = levels(&a);
                        let kind = a.kind().word().to_owned();
                        vec![
                            a.asset_id,
                            a.tenant_id,
                            a.name,
                            kind,
                            class,
                            a.owner_user_id,
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
        Assets::Show { id } => {
            let asset = assets
                .get_asset(
                    ctx.request(GetAssetRequest {
                        asset_id: id,
                        ..Default::default()
                    })
                    .await?,
                )
                .await?
                .into_inner()
                .asset
                .unwrap_or_default();
            let class = levels(&asset);
            let kind = asset.kind().word().to_owned();
            output::record(
                ctx.json,
                vec![
                    ("asset_id", asset.asset_id),
                    ("tenant", asset.tenant_id),
                    ("name", asset.name),
                    ("kind", kind),
                    ("class", class),
                    ("owner", asset.owner_user_id),
                    ("registered_at", output::time(asset.registered_at.as_ref())),
                    ("version", asset.version.to_string()),
                ],
            );
            Ok(())
        }
        Assets::Import { file } => import(ctx, &mut assets, &file).await,
    }
}

/// Sends the file in chunks (each with the header), with a progress bar; line numbers in
/// the answers are the file's.
async fn import(
    ctx: &Context,
    assets: &mut AssetsServiceClient<Channel>,
    file: &std::path::Path,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
    let mut lines = text.lines();
    let header = lines
        .next()
        .ok_or_else(|| Failure::Usage(format!("{}: empty file", file.display())))?;
    let body: Vec<&str> = lines.collect();
    let progress = if ctx.json || body.len() < IMPORT_CHUNK {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(body.len() as u64)
    };
    let (mut created, mut unchanged, mut refused) = (0, 0, Vec::new());
    for (index, chunk) in body.chunks(IMPORT_CHUNK).enumerate() {
        let csv = format!("{header}\n{}\n", chunk.join("\n"));
        let answer = assets
            .import_assets(
                ctx.request(ImportAssetsRequest {
                    csv,
                    consistency: None,
                })
                .await?,
            )
            .await?
            .into_inner();
        created += answer.created;
        unchanged += answer.unchanged;
        // Line 1 is the header in every chunk; the chunk starts at file line 2 + offset.
        let offset = u32::try_from(index * IMPORT_CHUNK).unwrap_or(u32::MAX);
        refused.extend(answer.errors.into_iter().map(|mut e| {
            e.line += offset;
            e
        }));
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    if ctx.json {
        let errors: Vec<_> = refused
            .iter()
            .map(|e| serde_json::json!({"line": e.line, "field": e.field, "message": e.message}))
            .collect();
        println!(
            "{}",
            serde_json::json!({"created": created, "unchanged": unchanged, "refused": errors})
        );
    } else {
        println!(
            "{}: {created} created, {unchanged} already there, {} refused",
            file.display(),
            refused.len()
        );
    }
    if refused.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = refused
        .iter()
        .map(|e| format!("line {}: {}: {}", e.line, e.field, e.message))
        .collect();
    Err(Failure::Other(format!(
        "{} line(s) refused:\n  {}",
        refused.len(),
        listed.join("\n  ")
    )))
}
