//! Harnesses shared by the end-to-end test binaries under `tests/`: a real nats-server
//! (from `tillit-testkit`), the real services run in-process through their
//! `run(config, listeners, shutdown)`, and gRPC clients with tokens.

pub mod assets;
pub mod identity;
pub mod platform;
pub mod receivers;

/// The field a status names in its `BadRequest` details (empty when none).
pub fn field_of(status: &tonic::Status) -> String {
    use tonic_types::StatusExt as _;
    status
        .get_error_details()
        .bad_request()
        .and_then(|b| b.field_violations.first())
        .map(|v| v.field.clone())
        .unwrap_or_default()
}
