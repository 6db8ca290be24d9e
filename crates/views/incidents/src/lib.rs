//! The incident register as every service that needs it runs it: the incident's events
//! and fold ([`incident`]), the one conversion between the events' words and the API's
//! enums ([`convert`]), and the read models over INCIDENTS and ASSETS with their reader
//! ([`register`]). No API, runner, configuration or binary: the incidents
//! service and reporting both depend on this, not on each other.

pub mod convert;
pub mod incident;
pub mod register;
