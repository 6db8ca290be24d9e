//! Clients of the public API end to end: the `tillit` binary (built by `just test` first)
//! and the Python example client (grpcio from `scripts/ensure-deps.sh grpc`), against the
//! real services on a nats-server of their own.

mod cli;
mod python;
