//! Text fields of a request, by `tillit_text::field`'s rules (NFC, trimmed, bounded, no
//! control, invisible or direction-changing characters): each refusal is INVALID_ARGUMENT
//! on the field with its reason code. Every service checks its text through these.

use tillit_kernel::KernelError;

/// A required single line (a name, a title) of at most `max` characters.
///
/// # Errors
/// The field's problem: `REQUIRED`, `TOO_LONG`, `FORBIDDEN_CHARACTER`.
pub fn line(field: &str, raw: &str, max: usize) -> Result<String, KernelError> {
    tillit_text::field::line(raw, max).map_err(|p| KernelError::text(field, &p))
}

/// An optional single line (a reference) of at most `max` characters.
///
/// # Errors
/// `TOO_LONG`, `FORBIDDEN_CHARACTER`.
pub fn optional_line(field: &str, raw: &str, max: usize) -> Result<String, KernelError> {
    tillit_text::field::optional_line(raw, max).map_err(|p| KernelError::text(field, &p))
}

/// A required multi-line text (a description, a reason) of at most `max` characters.
///
/// # Errors
/// `REQUIRED`, `TOO_LONG`, `FORBIDDEN_CHARACTER`.
pub fn lines(field: &str, raw: &str, max: usize) -> Result<String, KernelError> {
    tillit_text::field::required_lines(raw, max).map_err(|p| KernelError::text(field, &p))
}

/// An optional multi-line text (notes) of at most `max` characters.
///
/// # Errors
/// `TOO_LONG`, `FORBIDDEN_CHARACTER`.
pub fn optional_lines(field: &str, raw: &str, max: usize) -> Result<String, KernelError> {
    tillit_text::field::lines(raw, max).map_err(|p| KernelError::text(field, &p))
}

/// A repeated field of single lines: blanks dropped, at most `max_items`, each at most
/// `max` characters; a refusal names the item (`field[index]`).
///
/// # Errors
/// `TOO_MANY` on the field, or the item's problem.
pub fn list(
    field: &str,
    raw: &[String],
    max_items: usize,
    max: usize,
) -> Result<Vec<String>, KernelError> {
    tillit_text::field::line_list(field, raw, max_items, max)
        .map_err(|(field, p)| KernelError::text(&field, &p))
}

/// A repeated field holds at most `max` items.
///
/// # Errors
/// `TOO_MANY` on the field.
pub fn at_most(field: &str, count: usize, max: usize) -> Result<(), KernelError> {
    tillit_text::field::at_most(count, max).map_err(|p| KernelError::text(field, &p))
}

#[cfg(test)]
mod tests {
    use tillit_kernel::Reason;

    #[test]
    fn each_refusal_names_the_field_or_item_and_its_reason() {
        let long = super::line("title", &"x".repeat(301), 300).unwrap_err();
        assert_eq!(
            (long.field(), long.reason()),
            (Some("title"), Some(Reason::TooLong))
        );
        let empty = super::lines("description", "  ", 100).unwrap_err();
        assert_eq!(empty.reason(), Some(Reason::Required));
        let item = super::list("tags", &["ok".into(), "a\u{202e}b".into()], 5, 50).unwrap_err();
        assert_eq!(
            (item.field(), item.reason()),
            (Some("tags[1]"), Some(Reason::ForbiddenCharacter))
        );
        assert_eq!(super::optional_line("reference", "", 10).unwrap(), "");
    }
}
