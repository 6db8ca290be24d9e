//! Identifiers that are parsed once at the edge and trusted inside: tenant slugs, bounded
//! contexts (one stream each), aggregate types and ids, and the subject they form together.

use crate::error::Reason;
use std::fmt;

use crate::error::KernelError;

/// A tenant slug, `^[a-z0-9][a-z0-9-]{0,62}$`. `internal` is the consultancy itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantId(String);

impl TenantId {
    /// The consultancy's own tenant, owner of everything that belongs to no customer.
    pub const INTERNAL: &'static str = "internal";

    /// Parses a tenant slug; `field` names the request field in the error.
    pub fn parse(value: &str, field: &str) -> Result<Self, KernelError> {
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 63
            && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(KernelError::refused(
                field,
                Reason::Malformed,
                "must be a slug: lowercase letters, digits and '-', starting with a letter or digit, at most 63 characters",
            ))
        }
    }

    /// The `internal` tenant.
    pub fn internal() -> Self {
        Self(Self::INTERNAL.to_owned())
    }

    /// Whether this is the consultancy's own tenant.
    pub fn is_internal(&self) -> bool {
        self.0 == Self::INTERNAL
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bounded context, which owns one stream: `incidents` writes `tillit.incidents.>` into
/// the stream `INCIDENTS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BoundedContext(&'static str);

impl BoundedContext {
    /// Users, tenants, keys, policies.
    pub const IDENTITY: Self = Self("identity");
    /// Password and secret hashes, refresh tokens, login attempts; decoded only by identity.
    pub const CREDENTIALS: Self = Self("credentials");
    /// The asset inventory.
    pub const ASSETS: Self = Self("assets");
    /// Deviations, incidents, obligations.
    pub const INCIDENTS: Self = Self("incidents");
    /// Reminders, reviews, deliveries.
    pub const REPORTING: Self = Self("reporting");

    /// A context with another name (tests use their own, so they never collide).
    ///
    /// # Panics
    /// When `name` is not lowercase ASCII letters: context names are compile-time constants.
    pub const fn new(name: &'static str) -> Self {
        let bytes = name.as_bytes();
        assert!(!bytes.is_empty(), "a context name is not empty");
        let mut i = 0;
        while i < bytes.len() {
            assert!(
                bytes[i].is_ascii_lowercase(),
                "a context name is lowercase ASCII letters"
            );
            i += 1;
        }
        Self(name)
    }

    /// The context's name, as used in subjects.
    pub fn name(&self) -> &'static str {
        self.0
    }

    /// The JetStream stream that holds this context's commits.
    pub fn stream(&self) -> String {
        self.0.to_ascii_uppercase()
    }

    /// The stream's subject filter, `tillit.<ctx>.>`.
    pub fn subjects(&self) -> String {
        format!("tillit.{}.>", self.0)
    }
}

/// The kind of an aggregate, for example `incident`; `^[a-z][a-z0-9_]{0,62}$`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AggregateType(&'static str);

impl AggregateType {
    /// The type of reservation subjects (DESIGN.md "Uniqueness").
    pub const UNIQUE: Self = Self("unique");

    /// An aggregate type; a compile-time constant of the owning service.
    ///
    /// # Panics
    /// When `name` breaks the rule above.
    pub const fn new(name: &'static str) -> Self {
        let bytes = name.as_bytes();
        assert!(
            !bytes.is_empty() && bytes.len() <= 63 && bytes[0].is_ascii_lowercase(),
            "an aggregate type starts with a lowercase letter and has at most 63 characters"
        );
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            assert!(
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_',
                "an aggregate type is lowercase letters, digits and '_'"
            );
            i += 1;
        }
        Self(name)
    }

    /// The type name.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// A stream's name as a request names it (in a consistency token, a filter):
/// `^[A-Z][A-Z0-9_]{0,31}$`. Parsed before any NATS call, so nothing a caller sends can be
/// a wildcard (`*`, `>`), a subject (`ASSETS.>`), a control line (CR/LF) or a name so long
/// that the server drops the connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamName(String);

impl StreamName {
    /// Longest name accepted.
    pub const MAX_LEN: usize = 32;

    /// Parses a stream name; `field` names the request field in the error.
    pub fn parse(value: &str, field: &str) -> Result<Self, KernelError> {
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= Self::MAX_LEN
            && bytes[0].is_ascii_uppercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(KernelError::refused(
                field,
                Reason::Malformed,
                "must be a stream name: 1 to 32 upper-case letters, digits and '_', starting with a letter",
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An aggregate's id: 1 to 128 characters of `[A-Za-z0-9_-]` (UUIDs, slugs, hashes), so it
/// is always one subject token.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregateId(String);

impl AggregateId {
    /// Parses an id from a request; `field` names the request field in the error.
    pub fn parse(value: &str, field: &str) -> Result<Self, KernelError> {
        let valid = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(KernelError::refused(
                field,
                Reason::Malformed,
                "must be 1 to 128 letters, digits, '-' or '_'",
            ))
        }
    }

    /// A fresh, time-ordered id (UUIDv7).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }

    /// The id a create command derives from its idempotency key, so a retried create lands
    /// on the same subject: UUIDv5 of (tenant, key).
    pub fn from_idempotency_key(tenant: &TenantId, key: &str) -> Self {
        Self::derived(tenant, "idempotency", key)
    }

    /// A deterministic id for `(tenant, purpose, key)`: UUIDv5, so equal inputs give equal ids.
    pub fn derived(tenant: &TenantId, purpose: &str, key: &str) -> Self {
        let name = format!("{}\u{1f}{purpose}\u{1f}{key}", tenant.as_str());
        Self(uuid::Uuid::new_v5(&TILLIT_NAMESPACE, name.as_bytes()).to_string())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AggregateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Namespace of Tillit's derived UUIDs (a fixed random UUID; never change it).
const TILLIT_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6f1c_2d0e_8a53_4c8e_9b0a_51e3_7d2c_4a19);

/// Where one aggregate instance lives: context, tenant, type and id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AggregateAddress {
    /// The bounded context whose stream holds it.
    pub context: BoundedContext,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// Its type.
    pub aggregate_type: AggregateType,
    /// Its id.
    pub id: AggregateId,
}

impl AggregateAddress {
    /// The subject of its commits, `tillit.<ctx>.<tenant>.<type>.<id>`.
    pub fn subject(&self) -> String {
        format!(
            "tillit.{}.{}.{}.{}",
            self.context.name(),
            self.tenant.as_str(),
            self.aggregate_type.as_str(),
            self.id.as_str()
        )
    }
}

#[cfg(test)]
mod stream_name_tests {
    use super::StreamName;

    #[test]
    fn stream_names_are_refused_unless_plain_upper_case_words() {
        for good in ["ASSETS", "KV_THROTTLE", "A1"] {
            assert!(StreamName::parse(good, "s").is_ok(), "{good}");
        }
        let long = "A".repeat(5000);
        for bad in [
            "",
            ">",
            "*",
            "ASSETS.>",
            "ASSETS\r\nPUB x 1",
            "assets",
            "1A",
            " ASSETS",
            long.as_str(),
        ] {
            let error = StreamName::parse(bad, "consistency.positions[0].stream").unwrap_err();
            assert_eq!(
                error.field(),
                Some("consistency.positions[0].stream"),
                "{bad:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_slugs_follow_the_design_rule() {
        for good in [
            "internal",
            "acme",
            "a",
            "0day",
            "acme-ab-2",
            &"a".repeat(63),
        ] {
            assert!(TenantId::parse(good, "tenant").is_ok(), "{good}");
        }
        for bad in [
            "",
            "-acme",
            "Acme",
            "acme.se",
            "acme_ab",
            "a b",
            "*",
            ">",
            &"a".repeat(64),
        ] {
            let err = TenantId::parse(bad, "tenant").unwrap_err();
            assert_eq!(err.field(), Some("tenant"), "{bad}");
        }
    }

    #[test]
    fn aggregate_ids_are_single_subject_tokens() {
        assert!(AggregateId::parse("0192c3a0-7b7e-7c3e-8f00-0123456789ab", "id").is_ok());
        for bad in ["", "a.b", "a*", "a>", "a b", &"x".repeat(129)] {
            assert!(AggregateId::parse(bad, "id").is_err(), "{bad}");
        }
    }

    #[test]
    fn a_create_key_gives_the_same_id_per_tenant_and_another_across_tenants() {
        let acme = TenantId::parse("acme", "t").unwrap();
        let globex = TenantId::parse("globex", "t").unwrap();
        let a = AggregateId::from_idempotency_key(&acme, "k1");
        assert_eq!(a, AggregateId::from_idempotency_key(&acme, "k1"));
        assert_ne!(a, AggregateId::from_idempotency_key(&globex, "k1"));
        assert_ne!(a, AggregateId::from_idempotency_key(&acme, "k2"));
    }

    #[test]
    fn a_subject_names_context_tenant_type_and_id() {
        let address = AggregateAddress {
            context: BoundedContext::INCIDENTS,
            tenant: TenantId::internal(),
            aggregate_type: AggregateType::new("incident"),
            id: AggregateId::parse("i-1", "id").unwrap(),
        };
        assert_eq!(address.subject(), "tillit.incidents.internal.incident.i-1");
        assert_eq!(BoundedContext::INCIDENTS.stream(), "INCIDENTS");
    }
}
