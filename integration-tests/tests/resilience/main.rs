//! The platform as an operator and an attacker meet it: NATS restarting and pausing under
//! a running platform, hostile input at the edge, strangers at the login.

mod admin_ports;
mod cluster_services;
mod hostile_input;
mod logs;
mod nats_restart;
mod safe_csv;
mod sessions;
mod strangers;
mod tenant_isolation;
mod token_attacks;
