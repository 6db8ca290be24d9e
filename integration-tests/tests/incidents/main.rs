//! The incidents service end to end: real nats-server, identity, assets and incidents
//! in-process, gRPC.

mod contracts;
mod lifecycle;
mod schema;
