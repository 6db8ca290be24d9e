//! The codec's personal-data step against a real nats-server: a decider loads plain values,
//! the log holds sealed ones, and a sealed value altered by one byte, or moved to another
//! event, fails to load.

use prost::Message as _;
use tillit_kernel::personal::{PersonalDataSecret, is_sealed};
use tillit_kernel::{AggregateAddress, AggregateType, KernelError, StoredCommit, TenantId};
use tillit_proto::identity::UserCreated;
use tillit_proto::kernel::Commit;

use crate::support::{CONTEXT, Harness, id};

const USER: AggregateType = AggregateType::new("user");

fn address(user: &str) -> AggregateAddress {
    AggregateAddress {
        context: CONTEXT,
        tenant: TenantId::internal(),
        aggregate_type: USER,
        id: id(user),
    }
}

/// The first commit of `user`'s aggregate: a UserCreated with an e-mail address.
fn created(user: &str, email: &str) -> Commit {
    Commit {
        commit_id: uuid::Uuid::now_v7().to_string(),
        tenant: TenantId::INTERNAL.into(),
        aggregate_type: USER.as_str().into(),
        aggregate_id: id(user).as_str().into(),
        aggregate_version: 1,
        actor: Some(tillit_proto::common::Actor {
            subject: "system".into(),
            ..Default::default()
        }),
        command: "test".into(),
        events: vec![tillit_kernel::decider::encode_event(
            &UserCreated {
                user_id: id(user).as_str().into(),
                email: email.into(),
                ..Default::default()
            },
            1,
        )],
        ..Default::default()
    }
}

fn email_of(commit: &Commit) -> String {
    UserCreated::decode(commit.events[0].payload.as_slice())
        .unwrap()
        .email
}

fn with_email(mut commit: Commit, email: String) -> Commit {
    let mut event = UserCreated::decode(commit.events[0].payload.as_slice()).unwrap();
    event.email = email;
    commit.events[0].payload = event.encode_to_vec();
    commit
}

async fn sealing_store() -> Harness {
    let mut harness = Harness::start().await;
    harness.store = harness
        .store
        .clone()
        .with_personal_data(PersonalDataSecret::from_bytes([9; 32]));
    harness.store.provision_keys().await.expect("KEYS");
    harness
}

async fn append(harness: &Harness, commit: &Commit) {
    let subject = format!(
        "tillit.{}.{}.{}.{}",
        CONTEXT.name(),
        commit.tenant,
        commit.aggregate_type,
        commit.aggregate_id
    );
    harness
        .store
        .append(&subject, commit.encode_to_vec().into(), 0, None)
        .await
        .expect("append");
}

async fn load(harness: &Harness, user: &str) -> Result<Vec<StoredCommit>, KernelError> {
    harness.store.load(&address(user)).await.map(|h| h.commits)
}

#[tokio::test]
async fn the_log_holds_sealed_values_and_a_load_opens_them() {
    let harness = sealing_store().await;
    let mut commit = created("u1", "anna@example.se");
    harness
        .store
        .seal(&CONTEXT.stream(), &mut commit)
        .await
        .expect("seal");
    let stored = email_of(&commit);
    assert!(is_sealed(&stored) && !stored.contains("anna"), "{stored}");
    append(&harness, &commit).await;
    let loaded = load(&harness, "u1").await.expect("load");
    assert_eq!(email_of(&loaded[0].commit), "anna@example.se");
}

#[tokio::test]
async fn a_sealed_value_altered_or_moved_to_another_event_does_not_load() {
    let harness = sealing_store().await;
    let mut original = created("u1", "anna@example.se");
    harness
        .store
        .seal(&CONTEXT.stream(), &mut original)
        .await
        .expect("seal");
    append(&harness, &original).await;
    let token = email_of(&original);

    // The same value in another user's event: its place does not match.
    let moved = with_email(created("u2", ""), token.clone());
    append(&harness, &moved).await;
    let error = load(&harness, "u2").await.unwrap_err();
    assert!(
        matches!(&error, KernelError::Corrupt(m) if m.contains("another place")),
        "{error:?}"
    );

    // One byte of the ciphertext changed, in its own place: it does not open.
    let mut own = created("u3", "bo@example.se");
    harness
        .store
        .seal(&CONTEXT.stream(), &mut own)
        .await
        .expect("seal");
    let sealed = email_of(&own);
    let mut bytes = sealed.into_bytes();
    let last = bytes.len() - 2;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    let altered = with_email(own, String::from_utf8(bytes).unwrap());
    append(&harness, &altered).await;
    let error = load(&harness, "u3").await.unwrap_err();
    assert!(
        matches!(&error, KernelError::Corrupt(m) if m.contains("altered")),
        "{error:?}"
    );

    // A store without the secret's key refuses to seal personal data at all.
    let plain = Harness::start().await;
    let mut commit = created("u4", "cid@example.se");
    let refused = plain
        .store
        .seal(&CONTEXT.stream(), &mut commit)
        .await
        .unwrap_err();
    assert!(matches!(refused, KernelError::Internal(_)), "{refused:?}");
}
