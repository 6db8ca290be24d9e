//! Reservations: one winner per key, retries by the same owner proceed, a never-created
//! owner is taken over after the grace period, a released key is free again.

use std::time::Duration;

use tillit_kernel::{
    AggregateAddress, AggregateType, Clock, CommandMeta, ReservationError, Reservations, Reserved,
    StoreConfig, Target,
};

use crate::support::{CONTEXT, Harness, TallyCommand, id, request, tenant, test_config};

fn owner(name: &str) -> AggregateAddress {
    AggregateAddress {
        context: CONTEXT,
        tenant: tenant("acme"),
        aggregate_type: AggregateType::new("tally"),
        id: id(name),
    }
}

fn meta() -> CommandMeta {
    CommandMeta::system("test")
}

#[tokio::test]
async fn of_two_owners_reserving_one_key_exactly_one_wins_and_a_retry_proceeds() {
    let harness = Harness::start().await;
    let reservations = Reservations::new(harness.store.clone(), CONTEXT);
    let internal = tenant("internal");

    let (owner_a, owner_b) = (owner("a"), owner("b"));
    let (a, b) = tokio::join!(
        reservations.reserve(&internal, "email:ada@example.com", &owner_a, meta()),
        reservations.reserve(&internal, "email:ada@example.com", &owner_b, meta()),
    );
    let (winner, loser) = match (a, b) {
        (Ok(_), Err(e)) => ("a", e),
        (Err(e), Ok(_)) => ("b", e),
        other => panic!("exactly one must win: {other:?}"),
    };
    assert!(
        matches!(&loser, ReservationError::Taken { owner: o } if *o == owner(winner).subject()),
        "{loser:?}"
    );

    let again = reservations
        .reserve(&internal, "email:ada@example.com", &owner(winner), meta())
        .await
        .expect("the same owner proceeds");
    assert_eq!(again.outcome, Reserved::AlreadyHeld);
    assert_eq!(
        reservations
            .holder(&internal, "email:ada@example.com")
            .await
            .unwrap(),
        Some(owner(winner).subject())
    );
}

#[tokio::test]
async fn a_reservation_whose_owner_never_came_to_exist_is_taken_over_after_the_grace() {
    let clock = Clock::fixed(time::OffsetDateTime::now_utc());
    let config = StoreConfig {
        reservation_takeover_after: Duration::from_secs(60),
        ..test_config()
    };
    let harness = Harness::with_config(config, clock.clone()).await;
    let reservations = Reservations::new(harness.store.clone(), CONTEXT);
    let acme = tenant("acme");

    // "crashed" reserves and never creates its aggregate; "live" reserves and creates it.
    reservations
        .reserve(&acme, "row:1", &owner("crashed"), meta())
        .await
        .expect("reserve");
    reservations
        .reserve(&acme, "row:2", &owner("live"), meta())
        .await
        .expect("reserve");
    harness
        .tallies()
        .execute(request(
            "acme",
            Target::At(id("live")),
            TallyCommand::Open,
            None,
        ))
        .await
        .expect("create live");

    let early = reservations
        .reserve(&acme, "row:1", &owner("late"), meta())
        .await;
    assert!(
        matches!(early, Err(ReservationError::Taken { .. })),
        "within the grace: {early:?}"
    );

    clock.advance(time::Duration::seconds(61));
    let taken = reservations
        .reserve(&acme, "row:1", &owner("late"), meta())
        .await
        .expect("take over");
    assert_eq!(
        taken.outcome,
        Reserved::TakenOver {
            from: owner("crashed").subject()
        }
    );
    let live = reservations
        .reserve(&acme, "row:2", &owner("late"), meta())
        .await;
    assert!(
        matches!(live, Err(ReservationError::Taken { .. })),
        "an owner that exists keeps its key: {live:?}"
    );
}

#[tokio::test]
async fn a_released_key_can_be_reserved_again() {
    let harness = Harness::start().await;
    let reservations = Reservations::new(harness.store.clone(), CONTEXT);
    let acme = tenant("acme");
    reservations
        .reserve(&acme, "name:x", &owner("first"), meta())
        .await
        .expect("reserve");

    let foreign = reservations
        .release(&acme, "name:x", &owner("second"), meta())
        .await;
    assert!(
        matches!(foreign, Err(ReservationError::NotHeld { .. })),
        "{foreign:?}"
    );
    reservations
        .release(&acme, "name:x", &owner("first"), meta())
        .await
        .expect("release");
    assert_eq!(reservations.holder(&acme, "name:x").await.unwrap(), None);

    let again = reservations
        .reserve(&acme, "name:x", &owner("second"), meta())
        .await
        .expect("reserve a released key");
    assert_eq!(again.outcome, Reserved::Fresh);
    assert_eq!(
        reservations.holder(&acme, "name:x").await.unwrap(),
        Some(owner("second").subject())
    );
}
