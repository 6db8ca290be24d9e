//! Every word of the portal, in Swedish and English, from the Fluent catalogues under
//! `locales/`; the language from the `tillit_lang` cookie (the switch in the header), else
//! the browser's `Accept-Language`, else Swedish.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader as _};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: they show as boxes in some fonts.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The cookie that remembers the chosen language.
pub const COOKIE: &str = "tillit_lang";

/// A language of the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Svenska.
    Sv,
    /// English.
    En,
}

impl Lang {
    /// The language's code, as in `lang="…"` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Sv => "sv",
            Lang::En => "en",
        }
    }

    /// The language the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Sv => Lang::En,
            Lang::En => Lang::Sv,
        }
    }

    /// A code's language.
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "sv" => Some(Lang::Sv),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The remembered choice, else the first of `Accept-Language` we speak, else Swedish.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::parse) {
            return lang;
        }
        let mut offered: Vec<(f32, Lang)> = accept_language
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let tag = pieces.next()?.trim().to_ascii_lowercase();
                let quality = pieces
                    .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse().ok()))
                    .unwrap_or(1.0);
                let primary = tag.split('-').next()?.to_owned();
                Lang::parse(&primary).map(|lang| (quality, lang))
            })
            .collect();
        offered.sort_by(|a, b| b.0.total_cmp(&a.0));
        offered.first().map_or(Lang::Sv, |(_, lang)| *lang)
    }

    fn id(self) -> LanguageIdentifier {
        self.code()
            .parse()
            .expect("sv and en are language identifiers")
    }

    /// The message `key`.
    pub fn t(self, key: &str) -> String {
        LOCALES.lookup(&self.id(), key)
    }

    /// The message `key`, or `None` when neither catalogue has it (a code word the
    /// catalogue does not know: the caller shows the service's words instead).
    pub fn find(self, key: &str) -> Option<String> {
        LOCALES.try_lookup(&self.id(), key)
    }

    /// The message `key` with its arguments, or `None` when no catalogue has it.
    pub fn find_with(
        self,
        key: &str,
        args: &[(&'static str, FluentValue<'static>)],
    ) -> Option<String> {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
            .collect();
        LOCALES.try_lookup_with_args(&self.id(), key, &args)
    }

    /// The message `key` with its arguments.
    pub fn t_with(self, key: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), value.clone()))
            .collect();
        LOCALES.lookup_with_args(&self.id(), key, &args)
    }
}

/// A text argument.
pub fn text(value: impl Into<String>) -> FluentValue<'static> {
    FluentValue::from(value.into())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(catalogue: &str) -> BTreeSet<String> {
        catalogue
            .lines()
            .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
            .filter_map(|line| line.split_once(" =").map(|(key, _)| key.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_message_is_in_both_languages() {
        let en = keys(include_str!("../locales/en/portal.ftl"));
        let sv = keys(include_str!("../locales/sv/portal.ftl"));
        assert!(en.len() > 20, "{en:?}");
        let only_en: Vec<_> = en.difference(&sv).collect();
        let only_sv: Vec<_> = sv.difference(&en).collect();
        assert!(
            only_en.is_empty() && only_sv.is_empty(),
            "missing in sv: {only_en:?}; missing in en: {only_sv:?}"
        );
    }

    #[test]
    fn every_key_the_code_uses_is_in_the_catalogues() {
        let en = keys(include_str!("../locales/en/portal.ftl"));
        let mut missing = Vec::new();
        for source in [
            include_str!("pages/layout.rs"),
            include_str!("pages/signin.rs"),
            include_str!("pages/home.rs"),
            include_str!("pages/errors.rs"),
            include_str!("pages/incidents/mod.rs"),
            include_str!("pages/incidents/list.rs"),
            include_str!("pages/incidents/report.rs"),
            include_str!("pages/incidents/detail.rs"),
            include_str!("pages/incidents/triage.rs"),
            include_str!("pages/incidents/steps.rs"),
            include_str!("pages/incidents/submit.rs"),
            include_str!("pages/incidents/print.rs"),
            include_str!("pages/assets/mod.rs"),
            include_str!("pages/assets/detail.rs"),
            include_str!("pages/assets/forms.rs"),
            include_str!("pages/mod.rs"),
        ] {
            for (at, _) in source
                .match_indices(".t(\"")
                .chain(source.match_indices(".t_with(\""))
            {
                let rest = &source[at..];
                let start = rest.find('"').expect("a quote") + 1;
                let end = start + rest[start..].find('"').expect("a closing quote");
                let key = &rest[start..end];
                if !en.contains(key) {
                    missing.push(key.to_owned());
                }
            }
        }
        assert!(
            missing.is_empty(),
            "keys used but not in the catalogues: {missing:?}"
        );
    }

    #[test]
    fn the_choice_follows_the_cookie_then_the_browser() {
        assert_eq!(Lang::choose(Some("en"), Some("sv")), Lang::En);
        assert_eq!(
            Lang::choose(None, Some("en-GB,en;q=0.9,sv;q=0.8")),
            Lang::En
        );
        assert_eq!(
            Lang::choose(None, Some("de-DE, sv;q=0.5, en;q=0.4")),
            Lang::Sv
        );
        assert_eq!(Lang::choose(None, Some("de")), Lang::Sv);
        assert_eq!(Lang::choose(Some("xx"), None), Lang::Sv);
        assert_eq!(Lang::Sv.t("signin-title"), "Logga in");
        assert_eq!(
            Lang::En.t_with("home-welcome", &[("name", text("Ada"))]),
            "Welcome, Ada"
        );
    }
}
