//! How every Tillit service authenticates and authorizes, exactly one way.
//!
//! - [`permissions`]: the one role → permission table of DOMAIN.md.
//! - [`claims`]: the access-token claims identity signs.
//! - [`view`]: the identity view, a projection of the IDENTITY stream (signing keys,
//!   principals' tenant, status and session version, tenants) that any service embeds.
//! - [`verifier`]: checks a token locally against the view: EdDSA only, `iss`, `aud`,
//!   `exp`, `nbf`, and the session-version rule that makes revocation immediate.
//! - [`layer`]: a tower layer that authenticates every gRPC call (health, reflection and
//!   the declared public methods excepted) and hands handlers a typed [`Caller`].
//! - [`meta`]: the actor, idempotency key and correlation id every command records.
//! - [`error`]: why a caller is refused, and its gRPC status.
//! - [`caller`]: the authenticated caller, permission checks and tenant scoping (another
//!   tenant's resource answers NOT_FOUND, exactly like a missing one).
//!
//! A request's path: the layer reads `authorization: Bearer <jwt>`, the verifier decodes
//! the header, finds the `kid` among the view's active keys, validates signature and
//! claims, compares `sv` with the principal's current session version, and the layer puts
//! the resulting [`Caller`] into the request's extensions.

pub mod caller;
pub mod claims;
pub mod error;
pub mod layer;
pub mod meta;
pub mod permissions;
pub mod verifier;
pub mod view;

pub use caller::Caller;
pub use claims::Claims;
pub use error::AuthError;
pub use layer::AuthLayer;
pub use meta::command_meta;
pub use permissions::{Permission, Role};
pub use verifier::Verifier;
pub use view::IdentityView;
