//! The identity service end to end: a real nats-server, the real service in-process
//! through `tillit_identity::run`, gRPC clients, and a second process that only embeds
//! `tillit-auth` over the IDENTITY stream.

mod support;

mod accounts;
mod compliance;
mod login;
mod revocation;
mod secrets;
mod service;
mod tokens;
