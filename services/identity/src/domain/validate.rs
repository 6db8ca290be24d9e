//! Request input parsed into values that cannot be invalid; each error names its field.

use tillit_auth::Role;
use tillit_kernel::Reason;

use super::DomainError;

/// Minimum password length (characters).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// An e-mail address, NFKC and lower case (`tillit_text::field::email`): look-alikes
/// collide with the address they imitate.
pub fn email(field: &'static str, raw: &str) -> Result<String, DomainError> {
    tillit_text::field::email(raw).map_err(|p| DomainError::text(field, &p))
}

/// A password of at least 12 characters and at most 1024 bytes.
pub fn password(field: &'static str, raw: &str) -> Result<String, DomainError> {
    if raw.chars().count() < MIN_PASSWORD_CHARS {
        Err(DomainError::refused(
            field,
            Reason::TooShort,
            format!("must have at least {MIN_PASSWORD_CHARS} characters"),
        ))
    } else if raw.len() > 1024 {
        Err(DomainError::refused(
            field,
            Reason::TooLong,
            "must be at most 1024 bytes",
        ))
    } else {
        Ok(raw.to_owned())
    }
}

/// A slug id (policies, courses): lowercase letters, digits and '-', 1 to 63 characters,
/// starting with a letter or digit.
pub fn slug(field: &'static str, raw: &str) -> Result<String, DomainError> {
    tillit_kernel::TenantId::parse(raw, field)
        .map(|slug| slug.as_str().to_owned())
        .map_err(|_| {
            DomainError::refused(
                field,
                Reason::Malformed,
                "must be a slug: lowercase letters, digits and '-', at most 63 characters",
            )
        })
}

/// A role as the API names it (required).
pub fn role(field: &'static str, raw: i32) -> Result<Role, DomainError> {
    let wire: tillit_proto::identity::Role = tillit_api::vocabulary::required(field, raw)?;
    Role::from_wire(wire)
        .ok_or_else(|| DomainError::refused(field, Reason::NotOneOf, "a role is required"))
}

/// An optional role (a filter): `None` when unspecified.
pub fn role_filter(
    field: &'static str,
    raw: i32,
) -> Result<Option<tillit_proto::identity::Role>, DomainError> {
    Ok(tillit_api::vocabulary::optional(field, raw)?)
}

/// A role by its stored word (an access-review item, an event).
pub fn role_word(field: &'static str, raw: &str) -> Result<Role, DomainError> {
    Role::parse(raw).ok_or_else(|| {
        DomainError::refused(
            field,
            Reason::NotOneOf,
            format!(
                "unknown role {raw:?}; one of {}",
                Role::ALL.map(Role::as_str).join(", ")
            ),
        )
    })
}

/// At least one role, each of the table and allowed in the tenant (staff roles only in
/// `internal`, `customer` only elsewhere).
pub fn roles(
    field: &'static str,
    raw: &[i32],
    tenant: &tillit_kernel::TenantId,
) -> Result<std::collections::BTreeSet<Role>, DomainError> {
    let roles = raw
        .iter()
        .map(|r| role(field, *r))
        .collect::<Result<std::collections::BTreeSet<Role>, _>>()?;
    if roles.is_empty() {
        return Err(DomainError::refused(
            field,
            Reason::Required,
            "at least one role is required",
        ));
    }
    match roles.iter().find(|r| !r.allowed_in(tenant.is_internal())) {
        Some(role) => Err(DomainError::refused(
            field,
            Reason::Conflict,
            format!("{role} cannot be held in tenant {tenant}"),
        )),
        None => Ok(roles),
    }
}

/// A Swedish organisation number, `NNNNNN-NNNN` (the dash optional), Luhn-checked.
pub fn organisation_number(field: &'static str, raw: &str) -> Result<String, DomainError> {
    let digits: String = raw.trim().chars().filter(|c| *c != '-').collect();
    let valid = digits.len() == 10 && digits.chars().all(|c| c.is_ascii_digit()) && luhn(&digits);
    if valid {
        Ok(format!("{}-{}", &digits[..6], &digits[6..]))
    } else {
        Err(DomainError::refused(
            field,
            Reason::Malformed,
            "not a Swedish organisation number (NNNNNN-NNNN)",
        ))
    }
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses_are_lower_cased_and_checked() {
        assert_eq!(
            email("email", " Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.se",
            "ada@.se",
        ] {
            assert_eq!(
                email("email", bad),
                Err(DomainError::refused(
                    "email",
                    Reason::NotAnEmail,
                    "not an e-mail address"
                )),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(password("password", "elva tecken").is_err());
        assert!(password("password", "tolv tecken!").is_ok());
        assert!(
            password("password", "åäöåäöåäöåäö").is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn organisation_numbers_are_luhn_checked() {
        assert_eq!(
            organisation_number("org", "5560360793").unwrap(),
            "556036-0793"
        );
        assert!(organisation_number("org", "556036-0794").is_err());
        assert!(organisation_number("org", "55603607").is_err());
    }

    #[test]
    fn unknown_roles_are_named() {
        assert!(role_word("role", "root").is_err());
        assert_eq!(role_word("role", "auditor").unwrap(), Role::Auditor);
        assert!(role("role", 0).is_err(), "unspecified is refused");
        assert!(role("role", 99).is_err(), "an unknown number is refused");
        assert_eq!(
            role("role", tillit_proto::identity::Role::Auditor.into()).unwrap(),
            Role::Auditor
        );
    }
}
