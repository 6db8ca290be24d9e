//! Secrets never reach a stream or a projection file in the clear, and the IDENTITY
//! stream (which every service reads) holds no credential hash at all.

use std::path::Path;

use tillit_proto::identity::RefreshRequest;

use crate::support::{ADMIN_PASSWORD, Stack, user_password};

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("readable file");
                found.push((path, bytes));
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[tokio::test]
async fn passwords_and_refresh_tokens_never_appear_in_streams_or_projection_files() {
    let stack = Stack::start().await;
    let admin = stack.identity.admin_token().await;
    let email = "secret@tillit.test";
    let (_, login, _) = stack
        .identity
        .create_user(&admin, "internal", email, &["employee"])
        .await;
    let rotated = stack
        .identity
        .client()
        .await
        .refresh(RefreshRequest {
            refresh_token: login.refresh_token.clone(),
            consistency: None,
        })
        .await
        .expect("refresh")
        .into_inner();

    let password = user_password(email);
    let secret_of = |token: &str| token.rsplit('.').next().expect("secret").to_owned();
    let secrets = [
        ADMIN_PASSWORD.to_owned(),
        "temporary-password-1".to_owned(),
        password,
        login.refresh_token.clone(),
        secret_of(&login.refresh_token),
        rotated.refresh_token.clone(),
        secret_of(&rotated.refresh_token),
    ];

    let streams = files(&stack.nats.store_dir());
    let projections: Vec<_> = files(stack.data.path())
        .into_iter()
        .filter(|(path, _)| path.extension().is_some_and(|e| e == "redb"))
        .collect();
    assert!(!projections.is_empty(), "identity.redb exists");
    let mut credential_hashes_seen = false;
    for (path, bytes) in streams.iter().chain(projections.iter()) {
        for secret in &secrets {
            assert!(
                !contains(bytes, secret.as_bytes()),
                "{} holds a secret",
                path.display()
            );
        }
        let in_identity = path.components().any(|c| c.as_os_str() == "IDENTITY");
        let in_credentials = path.components().any(|c| c.as_os_str() == "CREDENTIALS");
        if contains(bytes, b"$argon2id$") {
            assert!(in_credentials, "{} holds a password hash", path.display());
            credential_hashes_seen = true;
        }
        assert!(
            !(in_identity && contains(bytes, b"token_hash")),
            "IDENTITY holds refresh-token data"
        );
    }
    assert!(
        credential_hashes_seen,
        "the scan did read the CREDENTIALS stream's files"
    );
}
