//! Chain verification over raw messages: an intact stream passes, a forged commit is named.

use prost::Message as _;
use tillit_kernel::Target;
use tillit_kernel::verify::{ChainVerdict, verify_chain};
use tillit_proto::kernel::Commit;

use crate::support::{Harness, TallyCommand, id, request};

#[tokio::test]
async fn the_chain_verifier_accepts_an_intact_stream_and_names_the_first_forged_commit() {
    let harness = Harness::start().await;
    let tallies = harness.tallies();
    for n in 0..12 {
        tallies
            .execute(request(
                "acme",
                Target::At(id(&format!("t{}", n % 3))),
                TallyCommand::Add(n),
                None,
            ))
            .await
            .expect("write");
    }
    let verdict = verify_chain(&harness.store, "KERNELTEST", None)
        .await
        .expect("verify");
    assert_eq!(verdict, ChainVerdict::Intact { checked: 12 });

    // A forger with publish rights appends a commit whose prev_hash is not its predecessor's.
    let subject = "tillit.kerneltest.acme.tally.t1";
    let address = tallies.address(&crate::support::tenant("acme"), id("t1"));
    let (_, history) = tallies.load(&address).await.expect("load");
    let mut forged = history.commits.last().expect("a commit").commit.clone();
    forged.aggregate_version += 1;
    forged.prev_hash = vec![0; 32];
    let client = harness.nats.client().await;
    client
        .publish(subject, Commit::encode_to_vec(&forged).into())
        .await
        .expect("plain publish");
    client.flush().await.expect("flush");
    // One honest commit after it, on another aggregate, must not hide it.
    let after = tallies
        .execute(request(
            "acme",
            Target::At(id("t0")),
            TallyCommand::Add(1),
            None,
        ))
        .await
        .expect("write after");
    let forged_sequence = after.position.expect("written").sequence - 1;

    let verdict = verify_chain(&harness.store, "KERNELTEST", None)
        .await
        .expect("verify");
    match verdict {
        ChainVerdict::Broken {
            position,
            subject: broken,
            checked,
            ..
        } => {
            assert_eq!(position.sequence, forged_sequence);
            assert_eq!(broken, subject);
            assert_eq!(checked, 12);
        }
        intact => panic!("the forgery went unnoticed: {intact:?}"),
    }
    let one = verify_chain(
        &harness.store,
        "KERNELTEST",
        Some("tillit.kerneltest.acme.tally.t2"),
    )
    .await
    .expect("verify one subject");
    assert_eq!(one, ChainVerdict::Intact { checked: 4 });
}
