//! Property tests of the incident decider: any sequence of commands, each accepted or
//! refused by the decider as it stands, keeps the invariants. A met obligation stays met,
//! with its deadline, article and recipient, and its notifications only grow. A closed
//! incident has no pending obligation. A refused command changes nothing.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tillit_proto::incidents::{Obligation, ObligationStatus};

use super::*;

/// One step of a sequence: a transition of `commands()`, a triage as a breach or not, a
/// notification of the authority, or a waiver of it.
#[derive(Clone, Debug)]
enum Step {
    Named(usize),
    Triage { breach: bool },
    Notify,
    Waive,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..commands().len()).prop_map(Step::Named),
        any::<bool>().prop_map(|breach| Step::Triage { breach }),
        Just(Step::Notify),
        Just(Step::Waive),
    ]
}

fn command(step: &Step) -> IncidentCommand {
    match step {
        Step::Named(index) => commands().swap_remove(*index).1,
        Step::Triage { breach: b } => breach(*b),
        Step::Notify => IncidentCommand::RecordNotification(Box::new(Notification {
            sent: NotificationRecorded {
                obligation_id: "gdpr-33-1".into(),
                channel: "e-service".into(),
                sent_at: Some(to_timestamp(now())),
                ..Default::default()
            },
            config: ClockConfig::default(),
        })),
        Step::Waive => IncidentCommand::Waive(ObligationWaived {
            obligation_id: "gdpr-33-1".into(),
            reason: "the authority said no report is needed".into(),
            waived_by: "so".into(),
        }),
    }
}

/// What a met obligation keeps for ever.
fn kept(obligation: &Obligation) -> (String, String, Option<prost_types::Timestamp>) {
    (
        obligation.article.clone(),
        obligation.recipient.clone(),
        obligation.due_at,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn any_sequence_of_commands_keeps_the_invariants(steps in prop::collection::vec(step(), 0..40)) {
        let mut incident = aware_reported();
        let mut met: BTreeMap<String, Obligation> = BTreeMap::new();
        for step in &steps {
            match IncidentDecider::decide(&incident, command(step), now()) {
                Ok(events) => incident = events.iter().fold(incident, IncidentDecider::evolve),
                Err(_) => {
                    // Refused: the decider is pure, so nothing changed; deciding again on
                    // the same state refuses again.
                    prop_assert!(IncidentDecider::decide(&incident, command(step), now()).is_err());
                }
            }
            for (id, before) in &met {
                let now = incident.obligations.iter().find(|o| &o.obligation_id == id);
                let now = now.expect("a met obligation never disappears");
                prop_assert_eq!(now.status(), ObligationStatus::Met, "{} after {:?}", id, step);
                prop_assert_eq!(kept(now), kept(before));
                prop_assert!(now.notifications.starts_with(&before.notifications));
            }
            for obligation in &incident.obligations {
                if obligation.status() == ObligationStatus::Met {
                    met.insert(obligation.obligation_id.clone(), obligation.clone());
                }
            }
            if incident.status() == IncidentStatus::Closed {
                prop_assert!(
                    incident.obligations.iter().all(|o| o.status() != ObligationStatus::Pending),
                    "closed with a pending obligation after {:?}", steps
                );
            }
        }
    }
}
