//! Text that crosses Tillit's edge, handled one way everywhere.
//!
//! - [`csv`]: the one CSV writer of the platform. Every cell that a spreadsheet would
//!   read as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) is
//!   prefixed with `'` (OWASP "CSV injection"), so a title typed by anyone cannot run in
//!   the auditor's spreadsheet.
//! - [`field`]: single- and multi-line fields, e-mail addresses and list sizes, checked
//!   once at the edge the same way in every service.

pub mod csv;
pub mod field;
