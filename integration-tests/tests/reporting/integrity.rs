//! Tamper evidence: VerifyIntegrity over a clean stream, one aggregate, and a stream with
//! a forged commit published past the kernel.

use prost::Message as _;
use tillit_integration_tests::field_of;
use tillit_integration_tests::identity::bearer;
use tillit_integration_tests::platform::{Platform, stream_messages};
use tillit_proto::kernel::Commit;
use tillit_proto::reporting::VerifyIntegrityRequest;
use tonic::Code;

use crate::support::{client, everything, merge, register_asset};

fn verify(
    stream: &str,
    aggregate_id: &str,
    token: &tillit_proto::common::ConsistencyToken,
) -> VerifyIntegrityRequest {
    VerifyIntegrityRequest {
        stream: stream.into(),
        aggregate_id: aggregate_id.into(),
        consistency: Some(token.clone()),
    }
}

#[tokio::test]
async fn verify_integrity_is_ok_on_a_clean_stream_and_names_the_forged_position() {
    let platform = Platform::start().await;
    let (reporting_service, _data) = platform.reporting(time::Duration::ZERO).await;
    let mut reporting = client(&reporting_service).await;
    let auditor = platform.auditor.clone();
    let (mail, t1) = register_asset(&platform, "acme", "Mail hosting").await;
    let (backup, t2) = register_asset(&platform, "globex", "Backup service").await;
    let token = merge(&[&t1, &t2]);

    for stream in ["IDENTITY", "CREDENTIALS", "ASSETS"] {
        let clean = reporting
            .verify_integrity(bearer(&auditor, verify(stream, "", &token)))
            .await
            .expect("verify")
            .into_inner();
        assert!(clean.ok, "{stream}: {clean:?}");
        assert_eq!(clean.checked, stream_messages(&platform.nats, stream).await);
    }
    let one = reporting
        .verify_integrity(bearer(&auditor, verify("assets", &mail, &token)))
        .await
        .expect("verify one aggregate")
        .into_inner();
    assert!(one.ok && one.checked == 1, "{one:?}");

    // A forger with NATS credentials appends a commit with a made-up link to mail's chain.
    let subject = format!("tillit.assets.acme.asset.{mail}");
    let js = async_nats::jetstream::new(platform.nats.client().await);
    let forged = Commit {
        tenant: "acme".into(),
        aggregate_type: "asset".into(),
        aggregate_id: mail.clone(),
        aggregate_version: 2,
        prev_hash: vec![0; 32],
        command: "tillit.assets.v1.RetireAsset".into(),
        ..Default::default()
    };
    let sequence = js
        .publish(subject.clone(), forged.encode_to_vec().into())
        .await
        .expect("publish")
        .await
        .expect("ack")
        .sequence;
    let token = everything(&platform).await;
    let broken = reporting
        .verify_integrity(bearer(&auditor, verify("ASSETS", "", &token)))
        .await
        .expect("verify")
        .into_inner();
    assert!(!broken.ok);
    let at = broken.broken_at.clone().expect("position");
    assert_eq!((at.stream.as_str(), at.sequence), ("ASSETS", sequence));
    assert_eq!(broken.broken_subject, subject);
    assert!(broken.reason.contains("prev_hash"), "{}", broken.reason);
    assert_eq!(broken.checked, sequence - 1);

    let of_mail = reporting
        .verify_integrity(bearer(&auditor, verify("ASSETS", &mail, &token)))
        .await
        .expect("verify")
        .into_inner();
    assert!(!of_mail.ok && of_mail.broken_at.unwrap().sequence == sequence);
    let of_backup = reporting
        .verify_integrity(bearer(&auditor, verify("ASSETS", &backup, &token)))
        .await
        .expect("verify")
        .into_inner();
    assert!(of_backup.ok, "another chain is untouched: {of_backup:?}");

    let bad = reporting
        .verify_integrity(bearer(&auditor, verify("SECRETS", "", &token)))
        .await
        .expect_err("unknown stream");
    assert_eq!(
        (bad.code(), field_of(&bad).as_str()),
        (Code::InvalidArgument, "stream")
    );
    let missing = reporting
        .verify_integrity(bearer(&auditor, verify("ASSETS", "no-such-asset", &token)))
        .await
        .expect_err("unknown aggregate");
    assert_eq!(missing.code(), Code::NotFound);
}
