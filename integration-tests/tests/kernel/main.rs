//! The kernel against a real nats-server: appends, concurrency, idempotency, reservations,
//! stream protection, outages, and (part 2) projections.

mod appends;
mod cluster;
mod idempotency;
mod outage;
mod projections;
mod readiness;
mod reservations;
mod sealing;
mod streams;
mod support;
mod tally_view;
mod verify;
