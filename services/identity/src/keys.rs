//! The Ed25519 signing key: read from the configured PKCS#8 PEM file, or in development
//! generated once into the data directory with mode 0600. Its key id is derived from the
//! public key, so every replica with the same file signs under the same `kid`.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::EncodingKey;
use sha2::{Digest, Sha256};

/// What identity signs access tokens with.
#[derive(Clone)]
pub struct SigningMaterial {
    /// Key id, the JWT `kid`.
    pub kid: String,
    /// Raw 32-byte public key.
    pub public_key: Vec<u8>,
    /// The private key for jsonwebtoken.
    pub encoding_key: EncodingKey,
}

impl SigningMaterial {
    fn from_key(key: &ed25519_dalek::SigningKey) -> Result<Self, String> {
        let public_key = key.verifying_key().to_bytes().to_vec();
        let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
        Ok(Self {
            kid: kid_of(&public_key),
            encoding_key: EncodingKey::from_ed_der(der.as_bytes()),
            public_key,
        })
    }
}

/// The key id of a public key: the first 16 hex digits of its SHA-256.
pub fn kid_of(public_key: &[u8]) -> String {
    hex::encode(&Sha256::digest(public_key)[..8])
}

/// Reads the key at `path`; when `generate` and the file does not exist, creates it first.
pub fn load_or_generate(path: &Path, generate: bool) -> Result<SigningMaterial, String> {
    if generate && !path.exists() {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key
            .to_pkcs8_pem(Default::default())
            .map_err(|e| e.to_string())?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.write_all(pem.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        tracing::info!(path = %path.display(), "generated a development signing key");
    }
    let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| format!("{}: not a PKCS#8 Ed25519 private key: {e}", path.display()))?;
    SigningMaterial::from_key(&key)
}

/// The JWKS document of the given active keys.
pub fn jwks(keys: &[tillit_auth::view::KeyRecord]) -> serde_json::Value {
    let keys: Vec<_> = keys
        .iter()
        .map(|key| {
            serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": key.kid,
                "x": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key.public_key),
            })
        })
        .collect();
    serde_json::json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_key_is_private_to_its_owner_and_loads_again_with_the_same_kid() {
        let dir = std::env::temp_dir().join(format!("tillit-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("signing.pem");
        let first = load_or_generate(&path, true).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load_or_generate(&path, false).unwrap();
        assert_eq!(first.kid, again.kid);
        assert_eq!(first.public_key.len(), 32);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
