//! What never reaches a log line: e-mail addresses (masked to `o***@tillit.local`), tokens
//! (JWTs, `Bearer …`), and the values of fields named like secrets.

use std::borrow::Cow;

/// Field names whose values are never written, whatever they hold.
const SECRET_NAMES: [&str; 8] = [
    "password",
    "secret",
    "token",
    "cookie",
    "authorization",
    "bearer",
    "key_material",
    "private_key",
];

/// Whether a field of this name holds a secret.
pub fn is_secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_NAMES.iter().any(|secret| name.contains(secret)) && !name.ends_with("_id")
}

/// `text` with every e-mail address masked and every token replaced by `[token]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    if !text.contains('@') && !text.contains("eyJ") && !text.contains("Bearer ") {
        return Cow::Borrowed(text);
    }
    let masked = mask_emails(text);
    let tokens = mask_tokens(&masked);
    Cow::Owned(tokens.replace("Bearer [token]", "[token]"))
}

/// An e-mail address as a log may show it: its first character, `***`, and the domain.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

fn is_local_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-'".contains(c)
}

fn is_domain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-'
}

fn mask_emails(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // The local part already written: walk back over it in `out`.
        let local_len = out.chars().rev().take_while(|c| is_local_char(*c)).count();
        let domain_len = chars[i + 1..]
            .iter()
            .take_while(|c| is_domain_char(**c))
            .count();
        let domain: String = chars[i + 1..i + 1 + domain_len].iter().collect();
        let domain = domain.trim_end_matches(['.', '-']);
        if local_len == 0 || !domain.contains('.') {
            out.push('@');
            i += 1;
            continue;
        }
        let keep = out.chars().count() - local_len;
        let first = out.chars().nth(keep).unwrap_or('*');
        out = out.chars().take(keep).collect();
        out.push(first);
        out.push_str("***@");
        out.push_str(domain);
        i += 1 + domain.chars().count();
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Replaces every `eyJ…` run of base64url segments joined by dots (a JWT, or its header
/// and payload) by `[token]`.
fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        let starts_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_token_char(c));
        out.push_str(&rest[..at]);
        let candidate = &rest[at..];
        let len = candidate
            .char_indices()
            .find(|(_, c)| !is_token_char(*c) && *c != '.')
            .map_or(candidate.len(), |(i, _)| i);
        let run = &candidate[..len];
        if starts_word && run.contains('.') {
            out.push_str("[token]");
        } else {
            out.push_str(run);
        }
        rest = &candidate[len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_masked_where_they_stand() {
        assert_eq!(
            redact("login failed for olle.berg@tillit.local, try again"),
            "login failed for o***@tillit.local, try again"
        );
        assert_eq!(
            redact("a@b.se and <kim+x@example.com>"),
            "a***@b.se and <k***@example.com>"
        );
        assert_eq!(redact("user@localhost stays"), "user@localhost stays");
        assert_eq!(redact("no address @ all"), "no address @ all");
        assert_eq!(mask_email("olle@tillit.local"), "o***@tillit.local");
    }

    #[test]
    fn tokens_are_replaced() {
        let jwt = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
        assert_eq!(
            redact(&format!("authorization: Bearer {jwt} end")),
            "authorization: [token] end"
        );
        assert_eq!(redact(&format!("\"{jwt}\"")), "\"[token]\"");
        assert_eq!(redact("keyJoe is no token"), "keyJoe is no token");
    }

    #[test]
    fn secret_fields_are_known_by_name() {
        for name in ["password", "refresh_token", "client_secret", "Cookie"] {
            assert!(is_secret_field(name), "{name}");
        }
        for name in ["user_id", "token_id", "email", "service"] {
            assert!(!is_secret_field(name), "{name}");
        }
    }
}
