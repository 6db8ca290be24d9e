//! Every transition from every state: allowed ones change the status as drawn, refused
//! ones answer a precondition naming the current state.

use time::OffsetDateTime;

use tillit_proto::Vocabulary as _;
use tillit_proto::common::Severity;
use tillit_proto::incidents::{DataSubjectRisk, ObligationStatus};

use super::*;

mod properties;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn reported() -> Incident {
    let events = IncidentDecider::decide(
        &Incident::default(),
        IncidentCommand::Report(IncidentReported {
            incident_id: "i1".into(),
            kind: "security_incident".into(),
            title: "Phishing".into(),
            ..Default::default()
        }),
        now(),
    )
    .unwrap();
    events
        .iter()
        .fold(Incident::default(), IncidentDecider::evolve)
}

fn run(incident: Incident, command: IncidentCommand) -> Result<Incident, DomainError> {
    let events = IncidentDecider::decide(&incident, command, now())?;
    Ok(events.iter().fold(incident, IncidentDecider::evolve))
}

fn in_state(state: IncidentStatus) -> Incident {
    let triaged = || {
        run(
            reported(),
            IncidentCommand::Triage(
                TriageAssessment {
                    severity: Severity::High.into(),
                    ..Default::default()
                },
                Box::default(),
            ),
        )
        .unwrap()
    };
    let reviewed = |incident| {
        run(
            incident,
            IncidentCommand::Review {
                root_cause: "weak MFA".into(),
                lessons_learned: "enforce MFA".into(),
            },
        )
        .unwrap()
    };
    match state {
        IncidentStatus::Reported => reported(),
        IncidentStatus::Triaged => triaged(),
        IncidentStatus::Contained => {
            run(triaged(), IncidentCommand::Contain(String::new())).unwrap()
        }
        IncidentStatus::Resolved => {
            reviewed(run(triaged(), IncidentCommand::Resolve(String::new())).unwrap())
        }
        IncidentStatus::Closed => {
            run(in_state(IncidentStatus::Resolved), IncidentCommand::Close).unwrap()
        }
        IncidentStatus::Rejected => {
            run(reported(), IncidentCommand::Reject("duplicate".into())).unwrap()
        }
        other => panic!("{other:?}"),
    }
}

fn commands() -> Vec<(&'static str, IncidentCommand)> {
    vec![
        (
            "triage",
            IncidentCommand::Triage(TriageAssessment::default(), Box::default()),
        ),
        ("contain", IncidentCommand::Contain(String::new())),
        ("resolve", IncidentCommand::Resolve(String::new())),
        (
            "review",
            IncidentCommand::Review {
                root_cause: "r".into(),
                lessons_learned: "l".into(),
            },
        ),
        ("close", IncidentCommand::Close),
        ("reject", IncidentCommand::Reject("no".into())),
        ("reopen", IncidentCommand::Reopen("again".into())),
    ]
}

#[test]
fn every_transition_from_every_state() {
    use IncidentStatus::*;
    // (from, command) -> the status afterwards, or None when refused.
    let table: [(IncidentStatus, [Option<IncidentStatus>; 7]); 6] = [
        //          triage           contain          resolve         review           close         reject          reopen
        (
            Reported,
            [Some(Triaged), None, None, None, None, Some(Rejected), None],
        ),
        (
            Triaged,
            [
                Some(Triaged),
                Some(Contained),
                Some(Resolved),
                None,
                None,
                Some(Rejected),
                None,
            ],
        ),
        (
            Contained,
            [
                Some(Contained),
                None,
                Some(Resolved),
                Some(Contained),
                None,
                None,
                None,
            ],
        ),
        (
            Resolved,
            [
                Some(Resolved),
                None,
                None,
                Some(Resolved),
                Some(Closed),
                None,
                None,
            ],
        ),
        (Closed, [None, None, None, None, None, None, Some(Triaged)]),
        (
            Rejected,
            [None, None, None, None, None, None, Some(Reported)],
        ),
    ];
    for (from, expected) in table {
        for ((verb, command), expected) in commands().into_iter().zip(expected) {
            let outcome = run(in_state(from), command);
            match (expected, outcome) {
                (Some(to), Ok(incident)) => {
                    assert_eq!(incident.status(), to, "{verb} from {from:?}")
                }
                (None, Err(DomainError::Precondition(message))) => {
                    assert!(
                        message.contains(from.word()),
                        "{verb} from {from:?}: {message:?} names the state"
                    )
                }
                (expected, outcome) => {
                    panic!("{verb} from {from:?}: expected {expected:?}, got {outcome:?}")
                }
            }
        }
    }
}

#[test]
fn closing_needs_root_cause_lessons_and_every_action_done_and_names_what_is_missing() {
    let resolved = run(
        in_state(IncidentStatus::Triaged),
        IncidentCommand::Resolve(String::new()),
    )
    .unwrap();
    let Err(DomainError::Unmet {
        message,
        conditions,
    }) = run(resolved.clone(), IncidentCommand::Close)
    else {
        panic!("closed without review")
    };
    assert!(
        message.contains("root cause") && message.contains("lessons learned"),
        "{message}"
    );
    let kinds: Vec<&str> = conditions.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, ["ROOT_CAUSE_MISSING", "LESSONS_LEARNED_MISSING"]);

    let with_action = run(
        in_state(IncidentStatus::Resolved),
        IncidentCommand::AddAction(ActionAdded {
            action_id: "a1".into(),
            title: "Enforce MFA".into(),
            ..Default::default()
        }),
    )
    .unwrap();
    let Err(DomainError::Unmet {
        message,
        conditions,
    }) = run(with_action.clone(), IncidentCommand::Close)
    else {
        panic!("closed with an open action")
    };
    assert!(message.contains("Enforce MFA"), "{message}");
    assert!(
        conditions
            .iter()
            .any(|c| c.kind == "ACTION_OPEN" && c.subject == "action/a1"),
        "{conditions:?}"
    );

    let done = run(
        with_action.clone(),
        IncidentCommand::CompleteAction {
            action_id: "a1".into(),
            evidence: "policy enforced".into(),
        },
    )
    .unwrap();
    assert_eq!(
        run(done.clone(), IncidentCommand::Close).unwrap().status(),
        IncidentStatus::Closed
    );
    let accepted = run(
        with_action,
        IncidentCommand::AcceptRisk(ActionRiskAccepted {
            action_id: "a1".into(),
            reason: "legacy system retires in May".into(),
            accepted_by: "m".into(),
        }),
    )
    .unwrap();
    assert_eq!(
        run(accepted, IncidentCommand::Close).unwrap().status(),
        IncidentStatus::Closed
    );
    assert!(
        matches!(
            run(
                done,
                IncidentCommand::CompleteAction {
                    action_id: "a1".into(),
                    evidence: "again".into()
                }
            ),
            Err(DomainError::Precondition(_))
        ),
        "an action is completed once"
    );
}

#[test]
fn actions_links_and_reports_are_refused_where_they_make_no_sense() {
    assert!(
        matches!(run(reported(), IncidentCommand::CompleteAction { action_id: "nope".into(), evidence: String::new() }), Err(DomainError::Invalid { field, .. }) if field == "action_id")
    );
    assert!(
        matches!(run(in_state(IncidentStatus::Closed), IncidentCommand::AddAction(ActionAdded { action_id: "a".into(), ..Default::default() })), Err(DomainError::Precondition(m)) if m.contains("closed"))
    );
    assert!(
        matches!(
            run(reported(), IncidentCommand::Link("i1".into())),
            Err(DomainError::Invalid { .. })
        ),
        "not to itself"
    );
    let linked = run(reported(), IncidentCommand::Link("i2".into())).unwrap();
    assert!(
        IncidentDecider::decide(&linked, IncidentCommand::Link("i2".into()), now())
            .unwrap()
            .is_empty(),
        "linking twice changes nothing"
    );
    assert!(matches!(
        run(
            reported(),
            IncidentCommand::Report(IncidentReported::default())
        ),
        Err(DomainError::Precondition(_))
    ));
    assert!(matches!(
        run(Incident::default(), IncidentCommand::Close),
        Err(DomainError::Precondition(_))
    ));
}

#[test]
fn reopening_a_closed_incident_clears_its_closure() {
    let reopened = run(
        in_state(IncidentStatus::Closed),
        IncidentCommand::Reopen("recurred".into()),
    )
    .unwrap();
    assert_eq!(
        (reopened.status(), reopened.closed_at),
        (IncidentStatus::Triaged, None)
    );
}

fn breach(personal_data_breach: bool) -> IncidentCommand {
    IncidentCommand::Triage(
        TriageAssessment {
            severity: Severity::Medium.into(),
            personal_data_breach,
            risk_to_data_subjects: DataSubjectRisk::Risk.into(),
            ..Default::default()
        },
        Box::default(),
    )
}

fn aware_reported() -> Incident {
    let events = IncidentDecider::decide(
        &Incident::default(),
        IncidentCommand::Report(IncidentReported {
            incident_id: "i2".into(),
            kind: "security_incident".into(),
            aware_at: Some(to_timestamp(now() - time::Duration::hours(1))),
            ..Default::default()
        }),
        now(),
    )
    .unwrap();
    events
        .iter()
        .fold(Incident::default(), IncidentDecider::evolve)
}

#[test]
fn an_obligation_arises_at_triage_with_its_due_time_frozen_and_a_re_triage_marks_it_not_required() {
    let triaged = run(aware_reported(), breach(true)).unwrap();
    let imy = triaged
        .obligations
        .iter()
        .find(|o| o.obligation_id == "gdpr-33-1")
        .expect("GDPR Art. 33(1) arises");
    assert_eq!(
        imy.due_at,
        Some(to_timestamp(
            now() - time::Duration::hours(1) + time::Duration::hours(72)
        ))
    );
    assert_eq!(imy.status(), ObligationStatus::Pending);
    assert_eq!(
        imy.clocks_sha256,
        ClockConfig::default().sha256(),
        "states the rules it came from"
    );

    let again = IncidentDecider::decide(&triaged, breach(true), now()).unwrap();
    assert!(
        !again
            .iter()
            .any(|e| matches!(e, IncidentEvent::ObligationArisen(_))),
        "the same facts change no obligation"
    );

    let not_a_breach = run(triaged, breach(false)).unwrap();
    let imy = not_a_breach
        .obligations
        .iter()
        .find(|o| o.obligation_id == "gdpr-33-1")
        .unwrap();
    assert_eq!(imy.status(), ObligationStatus::NotRequired);
    assert!(imy.reason.contains("re-triage"), "{}", imy.reason);
}

#[test]
fn a_met_obligation_is_never_touched_by_a_re_triage() {
    let triaged = run(aware_reported(), breach(true)).unwrap();
    let sent = NotificationRecorded {
        obligation_id: "gdpr-33-1".into(),
        channel: "e-service".into(),
        sent_at: Some(to_timestamp(now())),
        ..Default::default()
    };
    let met = run(
        triaged,
        IncidentCommand::RecordNotification(Box::new(Notification {
            sent,
            config: ClockConfig::default(),
        })),
    )
    .unwrap();
    assert_eq!(met.obligations[0].status(), ObligationStatus::Met);
    let events = IncidentDecider::decide(&met, breach(false), now()).unwrap();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, IncidentEvent::ObligationNoLongerRequired(_))),
        "{events:?}"
    );
}

#[test]
fn a_waiver_needs_a_reason_and_only_pending_obligations_are_waived() {
    let triaged = run(aware_reported(), breach(true)).unwrap();
    let waive = |reason: &str| {
        IncidentCommand::Waive(ObligationWaived {
            obligation_id: "gdpr-33-1".into(),
            reason: reason.into(),
            waived_by: "so".into(),
        })
    };
    assert!(
        matches!(run(triaged.clone(), waive(" ")), Err(DomainError::Invalid { field, .. }) if field == "reason")
    );
    let waived = run(
        triaged,
        waive("the authority confirmed no report is needed"),
    )
    .unwrap();
    assert_eq!(waived.obligations[0].status(), ObligationStatus::Waived);
    assert!(matches!(
        run(waived, waive("again")),
        Err(DomainError::Precondition(_))
    ));
}
