//! Reminders (P5): due items computed from the projections, issued exactly once per (item,
//! due time, stage), delivered by webhook and e-mail with every attempt recorded, listed
//! as each person's tasks and acknowledged by them.
//!
//! - [`due`]: which reminders are due at a time; pure.
//! - [`route`]: who gets which kind over which channel, from configuration, and which
//!   people a kind's recipient groups are.
//! - [`decider`]: the reminder aggregate; pure.
//! - [`projection`]: issued reminders, deliveries and task lists from REPORTING.
//! - [`scheduler`]: issues what is due, every interval.
//! - [`delivery`]: the shared durable consumer that delivers, with retries.
//! - [`email`]: delivery over SMTP.
//! - [`metrics`]: issued, delivered, failed; the legal clock as gauges.

pub mod decider;
pub mod delivery;
pub mod due;
pub mod email;
pub mod metrics;
pub mod projection;
pub mod route;
pub mod scheduler;
