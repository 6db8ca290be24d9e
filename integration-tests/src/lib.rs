//! Harnesses shared by the end-to-end test binaries under `tests/`: a real nats-server
//! (from `tillit-testkit`), the real services run in-process through their
//! `run(config, listeners, shutdown)`, and gRPC clients with tokens.

pub mod assets;
pub mod identity;
pub mod platform;
