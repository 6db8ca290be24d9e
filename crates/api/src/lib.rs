//! What the gRPC handlers of every service share, written once:
//!
//! - [`page`]: the page-size rule and the opaque page-token codec of list queries.
//! - [`lookup`]: waiting for a request's consistency token, and "look up, catch up once,
//!   else NOT_FOUND" for a resource that may have been written a moment ago.
//! - [`text`]: text fields, by `tillit_text`'s rules, refused naming the field.
//! - [`reveal`]: a query's answer with the sealed personal values opened at the edge.
//! - [`vocabulary`]: enum fields of a request, required or optional, refused naming the
//!   field.
//! - [`invalid_from_kernel!`]: a service's domain error takes the kernel's bad input as its own.
//! - [`Refusal`]: the refusals every service makes beside its domain's own (not found,
//!   not allowed, …); each service's `api/errors.rs` turns its errors into statuses and
//!   hands these to [`Refusal`]'s one conversion.

pub mod lookup;
pub mod page;
mod refusal;
pub mod reveal;
pub mod text;
pub mod vocabulary;

pub use refusal::{Condition, Refusal};

/// Implements `From<tillit_kernel::KernelError>` for a service's domain error that has
/// `Invalid { field: String, code: Reason, reason: String }` and `Kernel(KernelError)`
/// variants: the kernel's (or a shared validator's) INVALID_ARGUMENT becomes the domain's
/// own `Invalid`, so a refused field reads the same wherever it was checked.
#[macro_export]
macro_rules! invalid_from_kernel {
    ($error:ty) => {
        impl From<::tillit_kernel::KernelError> for $error {
            fn from(error: ::tillit_kernel::KernelError) -> Self {
                match error {
                    ::tillit_kernel::KernelError::InvalidArgument {
                        field,
                        reason,
                        description,
                    } => Self::Invalid {
                        field,
                        code: reason,
                        reason: description,
                    },
                    other => Self::Kernel(other),
                }
            }
        }
    };
}
