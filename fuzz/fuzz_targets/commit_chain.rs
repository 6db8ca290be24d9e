//! Arbitrary bytes as a run of commits on one subject: each is checked against the chain
//! head as `VerifyIntegrity` does, and the decoded ones go through the sealed-field checks
//! projections make. Nothing may panic; a link accepted must carry the next version.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use tillit_kernel::envelope::payload_hash;
use tillit_kernel::personal::{check_commit, unsealed_fields};
use tillit_kernel::verify::check_link;
use tillit_proto::kernel::Commit;

fuzz_target!(|data: &[u8]| {
    let subject = "tillit.incidents.acme.incident.i-1";
    let mut head: Option<([u8; 32], u64)> = None;
    // Length-prefixed payloads: one byte of length, then that many bytes.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (payload, next) = tail.split_at(len);
        rest = next;
        if check_link(payload, subject, head).is_ok() {
            let commit = Commit::decode(payload).expect("a linked payload decodes");
            let due = head.map_or(1, |(_, version)| version + 1);
            assert_eq!(commit.aggregate_version, due);
            head = Some((payload_hash(payload), commit.aggregate_version));
        }
        if let Ok(commit) = Commit::decode(payload) {
            let _ = check_commit("INCIDENTS", &commit);
            let _ = unsealed_fields(&commit);
        }
    }
});
