//! Text fields the log keeps forever, validated once, strictly, the same way everywhere.
//!
//! A single-line field (a name, a title, a reference) is Unicode NFC, trimmed, and holds
//! no control character (NUL, ESC, CR, LF, tab, ...), no bidirectional override or isolate
//! (U+202A–U+202E, U+2066–U+2069, which make a name read differently than it is stored)
//! and no zero-width character (U+200B–U+200D, U+2060, U+FEFF, which make two names look
//! alike). A multi-line field (a description) may also hold newlines and tabs; a CR LF
//! pair (what browsers send) becomes a newline. An e-mail address is NFKC and lower case,
//! so `ａdmin@…` (full-width) is `admin@…` and collides with it instead of becoming a
//! look-alike account.

use std::fmt;

use unicode_normalization::UnicodeNormalization as _;

/// Why a text was refused; its `Display` is the message next to the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextProblem {
    /// Empty where a value is required.
    Empty,
    /// Longer than the field allows.
    TooLong {
        /// The most characters the field takes.
        max: usize,
    },
    /// A character that has no place in the field.
    Forbidden {
        /// What kind of character.
        what: &'static str,
    },
    /// Not an e-mail address.
    NotAnEmail,
    /// More items than the field allows.
    TooMany {
        /// The most items the field takes.
        max: usize,
    },
}

impl fmt::Display for TextProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "must not be empty"),
            Self::TooLong { max } => write!(f, "must be at most {max} characters"),
            Self::Forbidden { what } => write!(f, "must not contain {what}"),
            Self::NotAnEmail => write!(f, "not an e-mail address"),
            Self::TooMany { max } => write!(f, "at most {max} items"),
        }
    }
}

impl std::error::Error for TextProblem {}

/// What kind of forbidden character `c` is, if it is one; `multi_line` allows `\n`, `\t`.
fn forbidden(c: char, multi_line: bool) -> Option<&'static str> {
    match c {
        '\n' | '\t' if multi_line => None,
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{061C}'
        | '\u{200E}'
        | '\u{200F}' => Some("bidirectional control characters"),
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => Some("zero-width characters"),
        '\n' | '\r' => Some("line breaks"),
        c if c.is_control() => Some("control characters"),
        _ => None,
    }
}

fn checked(raw: &str, max: usize, multi_line: bool) -> Result<String, TextProblem> {
    let unified = if multi_line {
        raw.replace("\r\n", "\n")
    } else {
        raw.to_owned()
    };
    let value: String = unified.nfc().collect::<String>().trim().to_owned();
    if let Some(what) = value.chars().find_map(|c| forbidden(c, multi_line)) {
        return Err(TextProblem::Forbidden { what });
    }
    if value.chars().count() > max {
        return Err(TextProblem::TooLong { max });
    }
    Ok(value)
}

/// A required single-line field of at most `max` characters.
pub fn line(raw: &str, max: usize) -> Result<String, TextProblem> {
    match checked(raw, max, false)? {
        value if value.is_empty() => Err(TextProblem::Empty),
        value => Ok(value),
    }
}

/// An optional single-line field (empty allowed) of at most `max` characters.
pub fn optional_line(raw: &str, max: usize) -> Result<String, TextProblem> {
    checked(raw, max, false)
}

/// A multi-line field (empty allowed) of at most `max` characters.
pub fn lines(raw: &str, max: usize) -> Result<String, TextProblem> {
    checked(raw, max, true)
}

/// A required multi-line field of at most `max` characters.
pub fn required_lines(raw: &str, max: usize) -> Result<String, TextProblem> {
    match checked(raw, max, true)? {
        value if value.is_empty() => Err(TextProblem::Empty),
        value => Ok(value),
    }
}

/// Most characters of an e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// An e-mail address, NFKC and lower case: one `@`, a non-empty local part, a domain
/// with a dot that neither starts nor ends it, no whitespace, nothing forbidden.
pub fn email(raw: &str) -> Result<String, TextProblem> {
    let value: String = raw.nfkc().collect::<String>().trim().to_lowercase();
    if let Some(what) = value.chars().find_map(|c| forbidden(c, false)) {
        return Err(TextProblem::Forbidden { what });
    }
    let valid = value.chars().count() <= MAX_EMAIL
        && !value.chars().any(char::is_whitespace)
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(value)
    } else {
        Err(TextProblem::NotAnEmail)
    }
}

/// A repeated field of single lines: blank items dropped, at most `max_items`, each at
/// most `max` characters. The error names the field, or its item as `field[index]`.
pub fn line_list(
    field: &str,
    raw: &[String],
    max_items: usize,
    max: usize,
) -> Result<Vec<String>, (String, TextProblem)> {
    at_most(raw.len(), max_items).map_err(|p| (field.to_owned(), p))?;
    raw.iter()
        .enumerate()
        .filter(|(_, item)| !item.trim().is_empty())
        .map(|(index, item)| line(item, max).map_err(|p| (format!("{field}[{index}]"), p)))
        .collect()
}

/// A repeated field holds at most `max` items.
pub fn at_most(count: usize, max: usize) -> Result<(), TextProblem> {
    if count > max {
        Err(TextProblem::TooMany { max })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_lines_are_nfc_trimmed_and_refuse_what_hides_or_breaks_them() {
        assert_eq!(line("  Cafe\u{301} ", 10).unwrap(), "Caf\u{e9}");
        for (bad, what) in [
            ("a\u{0}b", "control characters"),
            ("a\u{1b}[31mb", "control characters"),
            ("a\r\nb", "line breaks"),
            ("a\tb", "control characters"),
            ("invoice\u{202E}fdp.exe", "bidirectional control characters"),
            ("a\u{2066}b", "bidirectional control characters"),
            ("ad\u{200B}min", "zero-width characters"),
            ("\u{FEFF}x", "zero-width characters"),
        ] {
            assert_eq!(
                line(bad, 100),
                Err(TextProblem::Forbidden { what }),
                "{bad:?}"
            );
        }
        assert_eq!(line("   ", 10), Err(TextProblem::Empty));
        assert_eq!(line("abcdef", 5), Err(TextProblem::TooLong { max: 5 }));
        assert_eq!(optional_line("", 5).unwrap(), "");
    }

    #[test]
    fn multi_line_fields_take_newlines_and_tabs_but_nothing_else_of_those() {
        assert_eq!(lines("a\r\n\tb\n", 10).unwrap(), "a\n\tb");
        assert!(lines("a\rb", 10).is_err());
        assert!(lines("a\u{7}b", 10).is_err());
        assert!(lines("a\u{202D}b", 10).is_err());
    }

    #[test]
    fn e_mail_addresses_fold_look_alikes_onto_the_real_one() {
        assert_eq!(
            email("\u{ff41}dmin@Tillit.Local").unwrap(),
            "admin@tillit.local"
        );
        assert_eq!(email(" Admin@tillit.local ").unwrap(), "admin@tillit.local");
        for bad in [
            "admin",
            "a@b",
            "a@@b.se",
            "a b@c.se",
            "a@.se",
            "ad\u{200B}min@x.se",
            "",
        ] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lists_are_bounded_and_each_item_checked() {
        let many: Vec<String> = (0..101).map(|n| n.to_string()).collect();
        assert_eq!(
            line_list("f", &many, 100, 10).unwrap_err(),
            ("f".to_owned(), TextProblem::TooMany { max: 100 })
        );
        let bad = vec!["ok".to_owned(), " ".to_owned(), "no\nway".to_owned()];
        assert_eq!(line_list("f", &bad, 100, 10).unwrap_err().0, "f[2]");
        assert_eq!(
            line_list("f", &bad[..2], 100, 10).unwrap(),
            vec!["ok".to_owned()]
        );
    }
}
