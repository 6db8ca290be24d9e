//! Which fields of which message are personal, read once from the descriptors' field
//! options (`tillit.common.v1.data`), and the walks over a decoded message that the codec
//! builds on.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost_reflect::{
    DescriptorPool, DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor,
    ReflectMessage, Value,
};

/// Where a personal field's data subject id is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectRef {
    /// A string field of the same message or an enclosing one, by name.
    Field(String),
    /// The commit's actor.
    Actor,
    /// The aggregate's id.
    Aggregate,
}

/// What the annotation of one string field says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataClass {
    /// Not personal.
    NotPersonal,
    /// Personal data of the subject found there.
    Personal(SubjectRef),
}

/// What the codec does with one field of a message.
#[derive(Clone, Debug)]
enum Step {
    /// Seal (or open) this string field's value(s) under the subject's key.
    Personal(FieldDescriptor, SubjectRef),
    /// Walk into this message field, which holds personal data somewhere.
    Nested(FieldDescriptor),
}

/// The codec's plan of every message in the pool.
pub struct Plan {
    pool: DescriptorPool,
    data: Option<ExtensionDescriptor>,
    steps: HashMap<String, Vec<Step>>,
}

impl Plan {
    /// The plan of every Tillit proto, built on first use.
    pub fn global() -> &'static Plan {
        static PLAN: OnceLock<Plan> = OnceLock::new();
        PLAN.get_or_init(|| {
            let pool = DescriptorPool::decode(tillit_proto::FILE_DESCRIPTOR_SET)
                .expect("the compiled descriptor set decodes");
            Plan::new(pool)
        })
    }

    fn new(pool: DescriptorPool) -> Self {
        let data = pool.get_extension_by_name("tillit.common.v1.data");
        let mut plan = Self {
            pool,
            data,
            steps: HashMap::new(),
        };
        let messages: Vec<_> = plan.pool.all_messages().collect();
        let mut memo = HashMap::new();
        for message in &messages {
            holds_personal(&plan, message, &mut memo, &mut Vec::new());
        }
        for message in messages {
            let steps = message
                .fields()
                .filter_map(|field| match field.kind() {
                    Kind::String => match plan.class(&field) {
                        Some(DataClass::Personal(subject)) => Some(Step::Personal(field, subject)),
                        _ => None,
                    },
                    Kind::Message(inner) if memo.get(inner.full_name()) == Some(&true) => {
                        Some(Step::Nested(field))
                    }
                    _ => None,
                })
                .collect::<Vec<_>>();
            if !steps.is_empty() {
                plan.steps.insert(message.full_name().to_owned(), steps);
            }
        }
        plan
    }

    /// The descriptors.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// What a string field's annotation says; `None` when it says nothing.
    pub fn class(&self, field: &FieldDescriptor) -> Option<DataClass> {
        let data = self.data.as_ref()?;
        let options = field.options();
        if !options.has_extension(data) {
            return None;
        }
        let value = options.get_extension(data);
        let class = value.as_message()?;
        if let Some(subject) = class
            .get_field_by_name("subject")
            .filter(|_| class.has_field_by_name("subject"))
        {
            let subject = subject.as_str()?.to_owned();
            return Some(DataClass::Personal(match subject.as_str() {
                "@actor" => SubjectRef::Actor,
                "@aggregate" => SubjectRef::Aggregate,
                _ => SubjectRef::Field(subject),
            }));
        }
        class
            .has_field_by_name("not_personal")
            .then_some(DataClass::NotPersonal)
    }

    /// Whether a message of this type holds personal data anywhere.
    pub fn holds_personal(&self, type_name: &str) -> bool {
        self.steps.contains_key(type_name)
    }

    /// The message descriptor of a type name.
    pub fn message(&self, type_name: &str) -> Option<MessageDescriptor> {
        self.pool.get_message_by_name(type_name)
    }

    /// Calls `visit` with every personal value of `message` (and its nested messages): the
    /// field's path (`email`, `incident_contacts[1].email`), the subject it belongs to and
    /// the value, which `visit` may replace.
    pub fn walk(
        &self,
        message: &mut DynamicMessage,
        visit: &mut dyn FnMut(&str, &Subject<'_>, &mut String),
    ) {
        self.walk_in(message, "", &Scope::default(), visit);
    }

    fn walk_in(
        &self,
        message: &mut DynamicMessage,
        prefix: &str,
        outer: &Scope,
        visit: &mut dyn FnMut(&str, &Subject<'_>, &mut String),
    ) {
        let Some(steps) = self.steps.get(message.descriptor().full_name()) else {
            return;
        };
        let scope = outer.with(message);
        for step in steps {
            match step {
                Step::Personal(field, subject) => {
                    let subject = match subject {
                        SubjectRef::Field(name) => Subject::Id(scope.get(name)),
                        SubjectRef::Actor => Subject::Actor,
                        SubjectRef::Aggregate => Subject::Aggregate,
                    };
                    let path = format!("{prefix}{}", field.name());
                    match message.get_field_mut(field) {
                        Value::String(value) => visit(&path, &subject, value),
                        Value::List(values) => {
                            for (index, value) in values.iter_mut().enumerate() {
                                if let Value::String(value) = value {
                                    visit(&format!("{path}[{index}]"), &subject, value);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Step::Nested(field) => {
                    if !field.is_list() && !message.has_field(field) {
                        continue;
                    }
                    let path = format!("{prefix}{}", field.name());
                    match message.get_field_mut(field) {
                        Value::Message(inner) => {
                            self.walk_in(inner, &format!("{path}."), &scope, visit);
                        }
                        Value::List(values) => {
                            for (index, value) in values.iter_mut().enumerate() {
                                if let Value::Message(inner) = value {
                                    let prefix = format!("{path}[{index}].");
                                    self.walk_in(inner, &prefix, &scope, visit);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Whose a personal value is, as the walk found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    /// The id in the named field (empty when that field is).
    Id(&'a str),
    /// The commit's actor.
    Actor,
    /// The aggregate.
    Aggregate,
}

/// The string fields of the enclosing messages, innermost last, for subject lookups.
#[derive(Clone, Debug, Default)]
struct Scope {
    values: Vec<(String, String)>,
}

impl Scope {
    fn with(&self, message: &DynamicMessage) -> Scope {
        let mut values = self.values.clone();
        for (field, value) in message.fields() {
            if let Value::String(text) = value {
                values.push((field.name().to_owned(), text.clone()));
            }
        }
        Scope { values }
    }

    fn get(&self, name: &str) -> &str {
        self.values
            .iter()
            .rev()
            .find(|(field, _)| field == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

fn holds_personal(
    plan: &Plan,
    message: &MessageDescriptor,
    memo: &mut HashMap<String, bool>,
    visiting: &mut Vec<String>,
) -> bool {
    if let Some(known) = memo.get(message.full_name()) {
        return *known;
    }
    if visiting.iter().any(|name| name == message.full_name()) {
        return false;
    }
    visiting.push(message.full_name().to_owned());
    let holds = message.fields().any(|field| match field.kind() {
        Kind::String => matches!(plan.class(&field), Some(DataClass::Personal(_))),
        Kind::Message(inner) => holds_personal(plan, &inner, memo, visiting),
        _ => false,
    });
    visiting.pop();
    memo.insert(message.full_name().to_owned(), holds);
    holds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_knows_the_annotated_fields() {
        let plan = Plan::global();
        assert!(plan.holds_personal("tillit.identity.v1.UserCreated"));
        assert!(plan.holds_personal("tillit.identity.v1.TenantCreated"));
        assert!(!plan.holds_personal("tillit.identity.v1.RoleGranted"));
        let created = plan.message("tillit.identity.v1.UserCreated").unwrap();
        let email = created.get_field_by_name("email").unwrap();
        assert_eq!(
            plan.class(&email),
            Some(DataClass::Personal(SubjectRef::Field("user_id".into())))
        );
        let id = created.get_field_by_name("user_id").unwrap();
        assert_eq!(plan.class(&id), Some(DataClass::NotPersonal));
    }

    #[test]
    fn a_walk_finds_nested_and_repeated_values_with_their_subjects() {
        let plan = Plan::global();
        let descriptor = plan.message("tillit.identity.v1.TenantCreated").unwrap();
        let mut message = DynamicMessage::new(descriptor.clone());
        let contacts = descriptor.get_field_by_name("incident_contacts").unwrap();
        let Kind::Message(contact) = contacts.kind() else {
            panic!("contacts are messages")
        };
        let mut one = DynamicMessage::new(contact);
        one.set_field_by_name("name", Value::String("Anna".into()));
        one.set_field_by_name("contact_id", Value::String("c-1".into()));
        message.set_field(&contacts, Value::List(vec![Value::Message(one)]));
        message.set_field_by_name("name", Value::String("Kund AB".into()));
        let mut seen = Vec::new();
        plan.walk(&mut message, &mut |path, subject, value| {
            seen.push((path.to_owned(), format!("{subject:?}"), value.clone()));
            value.make_ascii_uppercase();
        });
        assert!(seen.contains(&(
            "incident_contacts[0].name".into(),
            "Id(\"c-1\")".into(),
            "Anna".into()
        )));
        assert_eq!(
            seen.len(),
            3,
            "name, email and phone of the one contact: {seen:?}"
        );
    }
}
