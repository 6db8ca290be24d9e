//! Personal data in an immutable log (GDPR Art. 15 and 17).
//!
//! Every string field of every event says in its proto options whether it is personal
//! data and whose ([`plan`]). The kernel's codec seals each personal value under its data
//! subject's key before a commit is appended, with the value's place (stream, aggregate
//! subject, event, field) as associated data ([`token`]), and opens it again when a decider
//! loads the aggregate ([`Vault`]). Projections store the sealed values as they are and a
//! query reveals them at the edge, so no file at rest holds personal data in clear. Keys
//! live in a deletable key store ([`KeyStore`]); destroying a subject's key erases that
//! person from every stream, replica, projection and rebuild at once, while the hash
//! chain, which covers the sealed bytes, stays whole.

pub mod export;
pub mod keys;
pub mod plan;
pub mod token;
pub mod vault;

pub use keys::{KeyStore, PersonalDataSecret};
pub use plan::{DataClass, Plan, SubjectRef};
pub use token::{ERASED, is_sealed};
pub use vault::{CommitSite, Vault, check_commit, unsealed_fields};

/// The message types that travel as event payloads: every message of an `*_events.proto`
/// file and the kernel's reservation events.
pub fn event_messages() -> Vec<prost_reflect::MessageDescriptor> {
    let pool = Plan::global().pool();
    pool.files()
        .filter(|file| file.name().ends_with("_events.proto"))
        .flat_map(|file| file.messages().collect::<Vec<_>>())
        .chain(
            [
                "tillit.kernel.v1.KeyReserved",
                "tillit.kernel.v1.KeyReleased",
            ]
            .into_iter()
            .filter_map(|name| pool.get_message_by_name(name)),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use prost_reflect::Kind;

    use super::*;

    /// Every string field reachable from an event payload, with its class (`None`: none).
    fn event_string_fields() -> Vec<(String, Option<DataClass>)> {
        let plan = Plan::global();
        let mut seen = BTreeSet::new();
        let mut todo = event_messages();
        let mut fields = Vec::new();
        while let Some(message) = todo.pop() {
            if message.full_name().starts_with("google.protobuf.")
                || !seen.insert(message.full_name().to_owned())
            {
                continue;
            }
            for field in message.fields() {
                match field.kind() {
                    // A map says it once, on the map field; the codec seals no map values.
                    Kind::Message(_) if field.is_map() => {
                        let class = plan.class(&field);
                        assert_ne!(
                            class.as_ref().map(|c| c == &DataClass::NotPersonal),
                            Some(false),
                            "{}: maps cannot hold personal data",
                            field.full_name()
                        );
                        fields.push((field.full_name().to_owned(), class));
                    }
                    Kind::String => fields.push((field.full_name().to_owned(), plan.class(&field))),
                    Kind::Message(inner) => todo.push(inner),
                    _ => {}
                }
            }
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields
    }

    #[test]
    fn every_string_field_of_every_event_says_whether_it_is_personal() {
        let fields = event_string_fields();
        assert!(
            fields.len() > 100,
            "the walk found the events: {}",
            fields.len()
        );
        let silent: Vec<_> = fields
            .iter()
            .filter(|(_, class)| class.is_none())
            .map(|(name, _)| name.as_str())
            .collect();
        assert!(
            silent.is_empty(),
            "these event fields need `[(tillit.common.v1.data).not_personal = true]` or \
             `.subject = \"…\"`, and a line in docs/personal-data.md: {silent:?}"
        );
    }

    #[test]
    fn every_personal_subject_names_a_string_field_in_scope() {
        let plan = Plan::global();
        for message in plan.pool().all_messages() {
            for field in message.fields() {
                if let Some(DataClass::Personal(SubjectRef::Field(name))) = plan.class(&field) {
                    let in_message = message.get_field_by_name(&name);
                    // A nested message may name a field of an enclosing one; ours name their own.
                    assert!(
                        in_message.is_some_and(|f| f.kind() == Kind::String),
                        "{} names {name}, which is no string field of {}",
                        field.full_name(),
                        message.full_name()
                    );
                }
            }
        }
    }

    #[test]
    fn docs_list_every_personal_field() {
        let docs = include_str!("../../../../docs/personal-data.md");
        let missing: Vec<_> = event_string_fields()
            .into_iter()
            .filter(|(_, class)| matches!(class, Some(DataClass::Personal(_))))
            .filter(|(name, _)| !docs.contains(&format!("`{name}`")))
            .map(|(name, _)| name)
            .collect();
        assert!(
            missing.is_empty(),
            "docs/personal-data.md does not list {missing:?}"
        );
    }
}
