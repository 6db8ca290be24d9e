//! Harnesses shared by the end-to-end test binaries under `tests/`: a real nats-server
//! (from `tillit-testkit`), the real services run in-process through their
//! `run(config, listeners, shutdown)`, and gRPC clients with tokens.

pub mod assets;
pub mod browser;
pub mod identity;
pub mod otlp;
pub mod platform;
pub mod portal;
pub mod processes;
pub mod receivers;

/// The field a status names in its `BadRequest` details (empty when none).
///
/// # Panics
/// When the violation's `reason` is not one of the documented codes
/// (`tillit_kernel::Reason`): every test that reads a field checks its code too.
pub fn field_of(status: &tonic::Status) -> String {
    match violation_of(status) {
        Some((field, reason)) => {
            assert!(
                tillit_kernel::Reason::ALL
                    .iter()
                    .any(|known| known.code() == reason),
                "{field}: reason {reason:?} is not a documented code ({})",
                status.message()
            );
            field
        }
        None => String::new(),
    }
}

/// The (field, reason code) of a status's first `BadRequest` field violation.
pub fn violation_of(status: &tonic::Status) -> Option<(String, String)> {
    use tonic_types::StatusExt as _;
    status
        .get_error_details()
        .bad_request()
        .and_then(|b| b.field_violations.first())
        .map(|v| (v.field.clone(), v.reason.clone()))
}
