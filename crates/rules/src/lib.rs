//! Rules shared by more than one service, as data: defaults built in, overridable by a
//! JSON file, and every answer computed from them states the SHA-256 of the rules used.
//!
//! - [`controls`]: the control rule set of DOMAIN.md "Classification" (which controls a
//!   classification requires, how often) and its evaluation against an asset's evidence:
//!   each required control is ok (with when it next falls due), missing or overdue (with
//!   the date it became due).

pub mod clocks;
pub mod controls;
pub mod stockholm;

pub use controls::{AssetFacts, Check, ControlRule, ControlStatus, RuleSet, Severity, State};
