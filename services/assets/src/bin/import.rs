//! `tillit-import-assets FILE`: imports assets from a CSV file through the assets API, as
//! `just import-assets FILE` does. Logs in with `TILLIT_EMAIL` and `TILLIT_PASSWORD` at
//! identity (`TILLIT_IDENTITY_URL`, default http://127.0.0.1:50051), or uses `TILLIT_TOKEN`;
//! talks to assets at `TILLIT_ASSETS_URL` (default http://127.0.0.1:50052). Prints what was
//! created and every refused line; exits 1 when a line was refused.

use std::process::ExitCode;

use tillit_proto::assets::ImportAssetsRequest;
use tillit_proto::assets::assets_service_client::AssetsServiceClient;
use tillit_proto::identity::LoginRequest;
use tillit_proto::identity::identity_service_client::IdentityServiceClient;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

async fn token() -> Result<String, String> {
    if let Some(token) = var("TILLIT_TOKEN") {
        return Ok(token);
    }
    let (Some(email), Some(password)) = (var("TILLIT_EMAIL"), var("TILLIT_PASSWORD")) else {
        return Err("set TILLIT_TOKEN, or TILLIT_EMAIL and TILLIT_PASSWORD".into());
    };
    let url = var("TILLIT_IDENTITY_URL").unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let mut identity = IdentityServiceClient::connect(url.clone())
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let login = identity
        .login(LoginRequest {
            email,
            password,
            consistency: None,
        })
        .await
        .map_err(|e| format!("login: {}", e.message()))?;
    Ok(login.into_inner().access_token)
}

async fn import(path: &str) -> Result<bool, String> {
    let csv = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let token = token().await?;
    let url = var("TILLIT_ASSETS_URL").unwrap_or_else(|| "http://127.0.0.1:50052".into());
    let mut assets = AssetsServiceClient::connect(url.clone())
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let mut request = tonic::Request::new(ImportAssetsRequest {
        csv,
        consistency: None,
    });
    let bearer = format!("Bearer {token}")
        .parse()
        .map_err(|_| "the token is not ASCII".to_owned())?;
    request.metadata_mut().insert("authorization", bearer);
    let answer = assets
        .import_assets(request)
        .await
        .map_err(|e| format!("import: {}", e.message()))?
        .into_inner();
    println!(
        "{path}: {} created, {} already there, {} refused",
        answer.created,
        answer.unchanged,
        answer.errors.len()
    );
    for error in &answer.errors {
        println!("  line {}: {}: {}", error.line, error.field, error.message);
    }
    Ok(answer.errors.is_empty())
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: tillit-import-assets FILE.csv");
        return ExitCode::from(2);
    };
    match import(&path).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("tillit-import-assets: {e}");
            ExitCode::FAILURE
        }
    }
}
