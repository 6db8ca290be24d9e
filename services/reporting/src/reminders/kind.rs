//! The kinds of reminder: what an item is that a reminder is about. Stored as these words
//! in `ReminderIssued.kind` and named in the routing settings.

/// A legal or contractual obligation of an incident.
pub const OBLIGATION: &str = "obligation";
/// A corrective action.
pub const ACTION: &str = "action";
/// An asset's periodic review.
pub const ASSET_REVIEW: &str = "asset_review";
/// An asset's restore test.
pub const RESTORE_TEST: &str = "restore_test";
/// A critical patch open past (or near) its window.
pub const CRITICAL_PATCH: &str = "critical_patch";
/// A policy version not acknowledged, or an acknowledgement turning 12 months old.
pub const POLICY_ACKNOWLEDGEMENT: &str = "policy_acknowledgement";
/// An access-review campaign.
pub const ACCESS_REVIEW: &str = "access_review";
/// A training running out.
pub const TRAINING_EXPIRY: &str = "training_expiry";
/// Every kind.
pub const ALL: [&str; 8] = [
    OBLIGATION,
    ACTION,
    ASSET_REVIEW,
    RESTORE_TEST,
    CRITICAL_PATCH,
    POLICY_ACKNOWLEDGEMENT,
    ACCESS_REVIEW,
    TRAINING_EXPIRY,
];
