//! One form of a page, drawn with what was sent to it when it was refused: each field's
//! value as typed, its problem next to it (named by `aria-describedby`), and the
//! problems of no field above it. The incident steps, the policies, trainings, access
//! reviews and administration pages draw their forms with it.

use std::collections::BTreeMap;

use maud::{Markup, html};

use crate::i18n::Lang;
use crate::pages::incidents::{Problems, dom_id, problem_at};

/// A posted form, field by field.
pub type Posted = BTreeMap<String, String>;

/// A refused form as it was sent.
pub trait Refused {
    /// Which form it came from (its key).
    fn form(&self) -> &str;
    /// What was typed.
    fn posted(&self) -> &Posted;
    /// What was wrong, by field.
    fn problems(&self) -> &Problems;
}

/// A form sent and refused: the usual [`Refused`].
pub struct Sent {
    /// Which form.
    pub form: String,
    /// What was typed.
    pub posted: Posted,
    /// What was wrong, by field; an empty or unknown field is shown above the form.
    pub problems: Problems,
}

impl Refused for Sent {
    fn form(&self) -> &str {
        &self.form
    }

    fn posted(&self) -> &Posted {
        &self.posted
    }

    fn problems(&self) -> &Problems {
        &self.problems
    }
}

/// One form on the page: its key, and what was sent to it if it was refused.
pub struct Draw<'a> {
    key: String,
    sent: Option<(&'a Posted, &'a Problems)>,
    lang: Lang,
}

impl<'a> Draw<'a> {
    /// The form `key`; `sent` is drawn into it when it was sent from it.
    pub fn new<S: Refused>(lang: Lang, key: &str, sent: Option<&'a S>) -> Self {
        let key = dom_id(key);
        Self {
            sent: sent
                .filter(|s| dom_id(s.form()) == key)
                .map(|s| (s.posted(), s.problems())),
            key,
            lang,
        }
    }

    /// Whether it was sent and refused (drawn open, with its problems).
    pub fn refused(&self) -> bool {
        self.sent.is_some()
    }

    pub fn id(&self, field: &str) -> String {
        format!("{}-{field}", self.key)
    }

    pub fn problems(&self) -> &Problems {
        static NONE: Problems = Vec::new();
        self.sent.map_or(&NONE, |(_, problems)| problems)
    }

    pub fn value(&self, field: &str, default: impl Into<String>) -> String {
        match self.sent {
            Some((posted, _)) => posted.get(field).cloned().unwrap_or_default(),
            None => default.into(),
        }
    }

    pub fn described(&self, field: &str, hint: bool) -> Option<String> {
        let mut ids = Vec::new();
        if hint {
            ids.push(format!("{}-hint", self.id(field)));
        }
        if self.problems().iter().any(|(f, _)| f == field) {
            ids.push(format!("{}-problem", self.id(field)));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    /// The problems of no field of `known`, above the form.
    pub fn general(&self, known: &[&str]) -> Markup {
        html! {
            @for (field, text) in self.problems() {
                @if !known.contains(&field.as_str()) { p.alert role="alert" { (text) } }
            }
        }
    }

    pub fn problem(&self, field: &str) -> Markup {
        problem_at(&self.id(field), self.problems(), field)
    }

    pub fn input(
        &self,
        kind: &str,
        field: &str,
        label: &str,
        default: String,
        required: bool,
    ) -> Markup {
        let id = self.id(field);
        html! {
            label for=(id) { (self.lang.t(label)) }
            input id=(id) type=(kind) name=(field) value=(self.value(field, default)) required[required]
                maxlength=[(kind == "text").then_some(200)]
                aria-invalid=[self.problems().iter().any(|(f, _)| f == field).then_some("true")]
                aria-describedby=[self.described(field, false)];
            (self.problem(field))
        }
    }

    pub fn textarea(&self, field: &str, label: &str, hint: Option<&str>, required: bool) -> Markup {
        let id = self.id(field);
        html! {
            label for=(id) { (self.lang.t(label)) }
            @if let Some(hint) = hint { p.muted id={ (id) "-hint" } { (self.lang.t(hint)) } }
            textarea id=(id) name=(field) rows="3" required[required]
                aria-invalid=[self.problems().iter().any(|(f, _)| f == field).then_some("true")]
                aria-describedby=[self.described(field, hint.is_some())] { (self.value(field, "")) }
            (self.problem(field))
        }
    }

    pub fn select(
        &self,
        field: &str,
        label: &str,
        options: &[(String, String)],
        default: &str,
    ) -> Markup {
        let id = self.id(field);
        let chosen = self.value(field, default);
        html! {
            label for=(id) { (self.lang.t(label)) }
            select id=(id) name=(field) aria-describedby=[self.described(field, false)] {
                @for (value, words) in options {
                    option value=(value) selected[*value == chosen] { (words) }
                }
            }
            (self.problem(field))
        }
    }
}

/// A form posting to `action` with the CSRF token; a refusal drawn in answer scrolls to
/// `anchor`.
pub fn post(action: &str, anchor: &str, csrf: &str, body: Markup) -> Markup {
    html! {
        form method="post" action={ (action) "#" (anchor) } {
            input type="hidden" name="csrf" value=(csrf);
            (body)
        }
    }
}
