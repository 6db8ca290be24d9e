//! The frame of every page: language, the header with what the user may open, the
//! stylesheet by its content hash.

use maud::{DOCTYPE, Markup, html};

use crate::i18n::Lang;

/// Who is signed in, as the header shows them.
pub struct Viewer {
    /// Display name.
    pub name: String,
    /// The CSRF token of the sign-out form.
    pub csrf: String,
}

/// What every page is drawn with.
pub struct Frame<'a> {
    /// The page's language.
    pub lang: Lang,
    /// The signed-in user, if any.
    pub viewer: Option<&'a Viewer>,
    /// The path of this page, for the language switch to come back to.
    pub path: &'a str,
}

/// A whole page.
pub fn page(frame: &Frame<'_>, title: &str, body: Markup) -> Markup {
    let lang = frame.lang;
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("app-name")) }
                link rel="stylesheet" href=(crate::web::stylesheet_path());
            }
            body {
                a.skip href="#main" { (lang.t("skip-to-content")) }
                header.top {
                    a.brand href="/" { (lang.t("app-name")) }
                    @if frame.viewer.is_some() {
                        nav aria-label=(lang.t("nav-home")) {
                            ul { li { a href="/" { (lang.t("nav-home")) } } }
                        }
                    }
                    div.who {
                        a href={ "/lang/" (other.code()) "?next=" (frame.path) } lang=(other.code()) {
                            (lang.t("nav-language"))
                        }
                        @if let Some(viewer) = frame.viewer {
                            span { (lang.t_with("signed-in-as", &[("name", crate::i18n::text(viewer.name.clone()))])) }
                            form method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(viewer.csrf);
                                button type="submit" { (lang.t("nav-sign-out")) }
                            }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}
