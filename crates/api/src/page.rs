//! List queries page the same way everywhere: `page_size` 0 means the default, anything
//! larger than the maximum means the maximum, and the page token is opaque to the client
//! (URL-safe base64 of the listing's own cursor text). A token that does not decode, or
//! that the listing cannot read as one of its cursors, is INVALID_ARGUMENT on
//! `page.page_token`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tillit_kernel::KernelError;
use tillit_kernel::Reason;
use tillit_proto::common::{PageRequest, PageResponse};

/// The field a bad page token is reported on.
pub const TOKEN_FIELD: &str = "page.page_token";

/// One page's request: how many items and after which cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// How many items at most.
    pub limit: usize,
    cursor: Option<String>,
}

impl Page {
    /// The page a request asks for, with `default` items when it names no size and at
    /// most `max`.
    ///
    /// # Errors
    /// INVALID_ARGUMENT on `page.page_token` for a token that is not base64 of UTF-8.
    pub fn of(
        request: Option<&PageRequest>,
        default: usize,
        max: usize,
    ) -> Result<Self, KernelError> {
        let limit = match request.map_or(0, |p| p.page_size) {
            0 => default,
            n => usize::try_from(n).unwrap_or(max).min(max),
        };
        let raw = request.map(|p| p.page_token.as_str()).unwrap_or_default();
        let cursor = if raw.is_empty() {
            None
        } else {
            Some(
                URL_SAFE_NO_PAD
                    .decode(raw)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(foreign)?,
            )
        };
        Ok(Self { limit, cursor })
    }

    /// The cursor the page starts after, read by the listing's own `parse`.
    ///
    /// # Errors
    /// INVALID_ARGUMENT on `page.page_token` when `parse` cannot read it.
    pub fn cursor<'a, T>(
        &'a self,
        parse: impl FnOnce(&'a str) -> Option<T>,
    ) -> Result<Option<T>, KernelError> {
        self.cursor
            .as_deref()
            .map(|raw| parse(raw).ok_or_else(foreign))
            .transpose()
    }

    /// The answer's page: a token for the next page when this one is full, made from the
    /// last item's cursor text.
    pub fn next<T>(&self, items: &[T], cursor: impl FnOnce(&T) -> String) -> Option<PageResponse> {
        let next_page_token = items
            .last()
            .filter(|_| items.len() == self.limit)
            .map(|last| token(&cursor(last)))
            .unwrap_or_default();
        Some(PageResponse { next_page_token })
    }
}

/// The opaque token of a cursor text.
pub fn token(cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(cursor)
}

fn foreign() -> KernelError {
    KernelError::refused(
        TOKEN_FIELD,
        Reason::Malformed,
        "not a token of this listing",
    )
}

#[cfg(test)]
mod tests {
    use tillit_proto::common::PageRequest;

    use super::{Page, token};

    fn request(size: u32, token: &str) -> PageRequest {
        PageRequest {
            page_size: size,
            page_token: token.into(),
        }
    }

    #[test]
    fn sizes_default_and_cap() {
        assert_eq!(Page::of(None, 50, 500).unwrap().limit, 50);
        assert_eq!(Page::of(Some(&request(0, "")), 50, 500).unwrap().limit, 50);
        assert_eq!(Page::of(Some(&request(7, "")), 50, 500).unwrap().limit, 7);
        assert_eq!(
            Page::of(Some(&request(9_999, "")), 50, 500).unwrap().limit,
            500
        );
    }

    #[test]
    fn a_cursor_round_trips_and_a_foreign_token_names_the_field() {
        let page = Page::of(Some(&request(2, &token("t1/alice"))), 50, 500).unwrap();
        assert_eq!(
            page.cursor(|raw| raw.split_once('/')).unwrap(),
            Some(("t1", "alice"))
        );
        assert_eq!(
            page.cursor(|_| None::<()>).unwrap_err().field(),
            Some("page.page_token")
        );
        let bad = Page::of(Some(&request(2, "%%%")), 50, 500).unwrap_err();
        assert_eq!(bad.field(), Some("page.page_token"));
    }

    #[test]
    fn only_a_full_page_has_a_next_token() {
        let page = Page::of(Some(&request(2, "")), 50, 500).unwrap();
        let full = page.next(&["a", "b"], |s| (*s).to_owned()).unwrap();
        assert_eq!(full.next_page_token, token("b"));
        let short = page.next(&["a"], |s| (*s).to_owned()).unwrap();
        assert!(short.next_page_token.is_empty());
    }
}
