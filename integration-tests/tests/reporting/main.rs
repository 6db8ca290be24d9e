//! The reporting service end to end: a real nats-server, identity, assets, incidents and
//! reporting run in-process, gRPC clients with tokens.
//!
//! - [`audit`]: a scripted sequence across services in the trail; filters; paging; the
//!   CSV export; who may read it.
//! - [`integrity`]: chain verification of clean and tampered streams.
//! - [`dashboard`]: the figures from incidents, assets and policies.

mod annual;
mod audit;
mod dashboard;
mod integrity;
mod reminders;
mod support;
