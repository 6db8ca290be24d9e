//! Enum fields of a request: a value the field requires, or an optional one (filters),
//! refused as INVALID_ARGUMENT `NOT_ONE_OF` naming the field when it is unspecified where
//! required or a number this version does not know.

use tillit_kernel::{KernelError, Reason};
use tillit_proto::Vocabulary;

/// The value of a required enum field.
///
/// # Errors
/// `NOT_ONE_OF` on `field` for 0 (unspecified) or an unknown number.
pub fn required<V: Vocabulary>(field: &str, raw: i32) -> Result<V, KernelError> {
    optional(field, raw)?.ok_or_else(|| refused::<V>(field, "required"))
}

/// The value of an optional enum field (a filter): `None` for 0 (unspecified).
///
/// # Errors
/// `NOT_ONE_OF` on `field` for a number this version does not know.
pub fn optional<V: Vocabulary>(field: &str, raw: i32) -> Result<Option<V>, KernelError> {
    if raw == 0 {
        return Ok(None);
    }
    V::try_from(raw)
        .map(Some)
        .map_err(|_| refused::<V>(field, &format!("{raw} is not a known value")))
}

fn refused<V: Vocabulary>(field: &str, what: &str) -> KernelError {
    KernelError::refused(
        field,
        Reason::NotOneOf,
        format!("{what}: one of {}", V::listing()),
    )
}

#[cfg(test)]
mod tests {
    use tillit_kernel::Reason;
    use tillit_proto::common::Severity;

    use super::{optional, required};

    #[test]
    fn unspecified_is_refused_where_required_and_any_in_a_filter() {
        assert_eq!(
            required::<Severity>("triage.severity", 3).unwrap(),
            Severity::High
        );
        let missing = required::<Severity>("triage.severity", 0).unwrap_err();
        assert_eq!(missing.field(), Some("triage.severity"));
        assert_eq!(missing.reason(), Some(Reason::NotOneOf));
        assert!(
            missing.to_string().contains("low, medium, high, critical"),
            "{missing}"
        );
        assert_eq!(optional::<Severity>("severity", 0).unwrap(), None);
        let unknown = optional::<Severity>("severity", 42).unwrap_err();
        assert_eq!(unknown.field(), Some("severity"));
    }
}
