//! What the gRPC handlers of every service share, written once:
//!
//! - [`page`]: the page-size rule and the opaque page-token codec of list queries.
//! - [`lookup`]: waiting for a request's consistency token, and "look up, catch up once,
//!   else NOT_FOUND" for a resource that may have been written a moment ago.
//! - [`text`]: text fields, by `tillit_text`'s rules, refused naming the field.
//! - [`vocabulary`]: enum fields of a request, required or optional, refused naming the
//!   field.
//! - [`Refusal`]: the refusals every service makes beside its domain's own (not found,
//!   not allowed, …); each service's `api/errors.rs` turns its errors into statuses and
//!   hands these to [`Refusal`]'s one conversion.

pub mod lookup;
pub mod page;
mod refusal;
pub mod text;
pub mod vocabulary;

pub use refusal::Refusal;
