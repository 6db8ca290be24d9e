//! A sealed value as it is stored: a string (the field keeps its proto type) that names its
//! key and its place, and carries the XChaCha20-Poly1305 ciphertext.
//!
//! `\u{1}ts1:<key id>:<site>:<nonce ‖ ciphertext>`, the last two in unpadded base64url.
//! The site is the first 16 bytes of SHA-256 over (stream, aggregate subject, field path,
//! key id) and is the AEAD's associated data: a value altered by one byte, or carried to
//! another event, field or key, does not open (the codec also compares the site with the
//! event it finds the value in). Plain text never starts with U+0001: every text field's
//! validation refuses control characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// How every sealed value starts.
pub const PREFIX: &str = "\u{1}ts1:";

/// What an erased subject's personal values read as, everywhere.
pub const ERASED: &str = "[erased]";

const NONCE: usize = 24;

/// Where a sealed value belongs: its AEAD associated data.
pub type Site = [u8; 16];

/// The site of a value of `key_id` at `path` of an event on `subject` in `stream`.
pub fn site(stream: &str, subject: &str, path: &str, key_id: &str) -> Site {
    let mut hasher = Sha256::new();
    for part in ["tillit.seal.v1", stream, subject, path, key_id] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut site = [0u8; 16];
    site.copy_from_slice(&digest[..16]);
    site
}

/// A data subject's 256-bit key.
#[derive(Clone)]
pub struct DataKey(pub(crate) [u8; 32]);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }
}

/// The parts of a sealed value, before it is opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed<'a> {
    /// The key it is sealed under: its data subject's id.
    pub key_id: &'a str,
    /// Where it belongs.
    pub site: Site,
    body: Vec<u8>,
}

/// Whether `value` is a sealed value (well formed or not).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX)
}

/// Seals `plain` under `key` (of `key_id`) for `site`.
pub fn seal(key: &DataKey, key_id: &str, site: Site, plain: &str) -> String {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = key
        .cipher()
        .encrypt(
            &nonce,
            Payload {
                msg: plain.as_bytes(),
                aad: &site,
            },
        )
        .expect("XChaCha20-Poly1305 encrypts any length a field can have");
    let mut body = nonce.to_vec();
    body.extend_from_slice(&ciphertext);
    format!(
        "{PREFIX}{key_id}:{}:{}",
        URL_SAFE_NO_PAD.encode(site),
        URL_SAFE_NO_PAD.encode(body)
    )
}

/// Reads the parts of a sealed value; `None` when it is not one or is malformed.
pub fn parse(value: &str) -> Option<Sealed<'_>> {
    let rest = value.strip_prefix(PREFIX)?;
    let mut parts = rest.split(':');
    let key_id = parts.next().filter(|id| !id.is_empty())?;
    let site = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    let body = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    if parts.next().is_some() || body.len() < NONCE + 16 {
        return None;
    }
    Some(Sealed {
        key_id,
        site: site.try_into().ok()?,
        body,
    })
}

/// Opens a sealed value with its key; `None` when it was altered or is not this key's.
pub fn open(key: &DataKey, sealed: &Sealed<'_>) -> Option<String> {
    let (nonce, ciphertext) = sealed.body.split_at(NONCE);
    let plain = key
        .cipher()
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: &sealed.site,
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

/// Whether `key_id` can name a key: what a data subject id may look like.
pub fn valid_key_id(key_id: &str) -> bool {
    (1..=64).contains(&key_id.len())
        && key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_value() -> (DataKey, String, Site) {
        let key = DataKey::generate();
        let site = site(
            "IDENTITY",
            "tillit.identity.internal.user.u1",
            "email",
            "u1",
        );
        (key.clone(), seal(&key, "u1", site, "anna@example.se"), site)
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_hides_the_text() {
        let (key, sealed, site) = sealed_value();
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("anna"));
        let parts = parse(&sealed).unwrap();
        assert_eq!((parts.key_id, parts.site), ("u1", site));
        assert_eq!(open(&key, &parts).as_deref(), Some("anna@example.se"));
        assert_eq!(open(&DataKey::generate(), &parts), None, "another key");
    }

    #[test]
    fn one_altered_byte_or_another_site_does_not_open() {
        let (key, sealed, _) = sealed_value();
        let body_start = sealed.rfind(':').unwrap() + 1;
        for at in body_start..sealed.len() {
            let mut bytes = sealed.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            if altered == sealed {
                continue;
            }
            let opened = parse(&altered).and_then(|parts| open(&key, &parts));
            assert_eq!(opened, None, "byte {at} altered");
        }
        let moved = sealed.replacen(
            &URL_SAFE_NO_PAD.encode(parse(&sealed).unwrap().site),
            &URL_SAFE_NO_PAD.encode(site(
                "IDENTITY",
                "tillit.identity.internal.user.u2",
                "email",
                "u1",
            )),
            1,
        );
        assert_eq!(
            open(&key, &parse(&moved).unwrap()),
            None,
            "claimed another site"
        );
    }

    #[test]
    fn malformed_values_are_no_sealed_values() {
        for bad in [
            "plain",
            "\u{1}ts1:",
            "\u{1}ts1:u1:AAAA",
            "\u{1}ts1::AAAA:AAAA",
            "\u{1}ts1:u1:!!:AA",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        assert!(valid_key_id("0193a3c2-7f4e-7abc-9def-0123456789ab"));
        assert!(!valid_key_id("a.b") && !valid_key_id("") && !valid_key_id(&"x".repeat(65)));
    }
}
