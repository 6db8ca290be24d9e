//! Administration (admins): users, customers with their contract terms, service accounts.
//! A temporary password or a client secret is shown once, on the page that answers the
//! POST that made it — never in a link, never stored by the portal.
//!
//! - [`users`]: the users, one user's roles, deactivation, unlock and password reset.
//! - [`tenants`]: the customers and their contacts and contract terms.
//! - [`accounts`]: the service accounts.

pub mod accounts;
pub mod tenants;
pub mod users;

use maud::{Markup, html};
use tillit_auth::Permission;
use tillit_proto::Vocabulary;
use tillit_proto::identity::Role;

use crate::i18n::Lang;
use crate::pages::incidents::word;
use crate::pages::layout::Viewer;

/// The part of the platform these pages call, for the 503 page.
pub(crate) const PART: &str = "part-identity";

/// The administration's own menu: the areas the viewer may manage.
pub(crate) fn menu(lang: Lang, viewer: &Viewer, current: &str) -> Markup {
    let areas = [
        ("/admin/users", "admin-users", Permission::ManageUsers),
        ("/admin/tenants", "admin-tenants", Permission::ManageTenants),
        (
            "/admin/service-accounts",
            "admin-service-accounts",
            Permission::ManageServiceAccounts,
        ),
    ];
    html! {
        nav.subnav aria-label=(lang.t("nav-admin")) {
            ul {
                @for (path, label, permission) in areas {
                    @if viewer.may(permission) {
                        li {
                            @if path == current { strong aria-current="page" { (lang.t(label)) } }
                            @else { a href=(path) { (lang.t(label)) } }
                        }
                    }
                }
            }
        }
    }
}

/// Every role as (word, words), for checkboxes and selects.
pub(crate) fn roles(lang: Lang) -> Vec<(String, String)> {
    Role::VALUES
        .iter()
        .map(|r| (r.word().to_owned(), word(lang, "role", *r)))
        .collect()
}

/// A secret shown once, with a copy button (the one script of the portal) and what to do
/// with it.
pub(crate) fn once(lang: Lang, id: &str, label: &str, secret: &str, advice: &str) -> Markup {
    html! {
        div.card.once role="status" {
            p { strong { (lang.t(label)) } }
            p {
                code.secret #(id) { (secret) } " "
                button type="button" data-copy=(id) data-copied=(lang.t("admin-copied")) { (lang.t("admin-copy")) }
            }
            p.muted { (lang.t(advice)) }
        }
    }
}

/// A fresh temporary password: 20 letters and digits that are hard to mistake for one
/// another, in groups of five (about 100 bits).
pub(crate) fn temporary_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let chars: Vec<char> = (0..20)
        .map(|_| ALPHABET[rand::Rng::gen_range(&mut rand::thread_rng(), 0..ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_temporary_password_is_long_random_and_readable() {
        let one = super::temporary_password();
        assert_eq!(one.len(), 23);
        assert_eq!(one.split('-').count(), 4);
        assert!(!one.contains(['0', 'O', 'l', '1', 'I']));
        assert_ne!(one, super::temporary_password());
    }
}
