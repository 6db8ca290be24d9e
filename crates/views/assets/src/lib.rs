//! The asset register as every service that needs it runs it: the asset's events and their
//! fold ([`asset`]), what the control rules know of an asset ([`asset::facts`]), and the
//! register projection with its reader ([`register`]). No API, runner, configuration or
//! binary: the assets service and reporting both depend on this, not on each other.

pub mod asset;
pub mod register;
