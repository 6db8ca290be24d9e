//! Request input parsed into values that cannot be invalid; each error names its field.

use tillit_kernel::Reason;
use tillit_proto::Vocabulary;
use tillit_proto::assets::{AssetKind, Classification};

use super::DomainError;

/// A kind of asset by its word (a CSV cell), as the event stores it.
pub fn kind(field: &str, raw: &str) -> Result<String, DomainError> {
    AssetKind::from_word(&raw.trim().to_lowercase())
        .map(|kind| kind.word().to_owned())
        .ok_or_else(|| {
            DomainError::refused(
                field,
                Reason::NotOneOf,
                format!("unknown kind {raw:?}; one of {}", AssetKind::listing()),
            )
        })
}

/// A required kind of asset from the API's enum, as the event stores it.
pub fn kind_value(field: &str, raw: i32) -> Result<String, DomainError> {
    let kind: AssetKind = tillit_api::vocabulary::required(field, raw)?;
    Ok(kind.word().to_owned())
}

/// A level 1-4.
pub fn level(field: &str, value: u32) -> Result<u32, DomainError> {
    if (1..=4).contains(&value) {
        Ok(value)
    } else {
        Err(DomainError::refused(
            field,
            Reason::OutOfRange,
            format!("must be 1 to 4, not {value}"),
        ))
    }
}

/// A classification with every axis 1-4; `prefix` is the request field, e.g. "classification".
pub fn classification(
    prefix: &str,
    raw: Option<&Classification>,
) -> Result<Classification, DomainError> {
    let raw = raw.ok_or_else(|| DomainError::refused(prefix, Reason::Required, "required"))?;
    Ok(Classification {
        confidentiality: level(&format!("{prefix}.confidentiality"), raw.confidentiality)?,
        integrity: level(&format!("{prefix}.integrity"), raw.integrity)?,
        availability: level(&format!("{prefix}.availability"), raw.availability)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_outside_one_to_four_name_their_axis() {
        let zero = Classification {
            confidentiality: 0,
            integrity: 2,
            availability: 2,
        };
        assert_eq!(
            classification("classification", Some(&zero)).unwrap_err(),
            DomainError::refused(
                "classification.confidentiality",
                Reason::OutOfRange,
                "must be 1 to 4, not 0"
            )
        );
        let five = Classification {
            confidentiality: 2,
            integrity: 2,
            availability: 5,
        };
        assert!(
            matches!(classification("classification", Some(&five)), Err(DomainError::Invalid { field, .. }) if field == "classification.availability")
        );
        assert!(
            classification(
                "classification",
                Some(&Classification {
                    confidentiality: 4,
                    integrity: 1,
                    availability: 3
                })
            )
            .is_ok()
        );
    }

    #[test]
    fn kinds_are_the_domains() {
        assert_eq!(kind("kind", " SaaS ").unwrap(), "saas");
        assert!(kind("kind", "spaceship").is_err());
    }
}
