//! "Verify integrity": the hash chains of one log, or of every log, re-checked by the
//! reporting service, each with the first broken link if there is one.

use maud::{Markup, html};
use tillit_proto::reporting::{VerifyIntegrityRequest, VerifyIntegrityResponse};

use super::{STREAMS, Search};
use crate::bearer;
use crate::i18n::{Lang, text};

/// The verification asked for: (stream, its result or what went wrong).
pub(super) type Verified = Vec<(String, Result<VerifyIntegrityResponse, String>)>;

pub(super) async fn verify(
    state: &crate::Portal,
    access: &str,
    search: &Search,
) -> Option<Verified> {
    let streams: Vec<&str> = match search.verify.as_str() {
        "" => return None,
        "all" => STREAMS.to_vec(),
        one => STREAMS.iter().copied().filter(|s| *s == one).collect(),
    };
    let checks = streams.into_iter().map(|stream| {
        let mut client = state.reporting.clone();
        let request = VerifyIntegrityRequest {
            stream: stream.to_owned(),
            aggregate_id: search.chain.trim().to_owned(),
            consistency: None,
        };
        async move {
            let answer = client
                .verify_integrity(bearer(access, request))
                .await
                .map(tonic::Response::into_inner)
                .map_err(|status| status.message().to_owned());
            (stream.to_owned(), answer)
        }
    });
    Some(futures::future::join_all(checks).await)
}

pub(super) fn verification(lang: Lang, results: &Verified) -> Markup {
    html! {
        section.card aria-labelledby="verified" #verification {
            h2 #verified { (lang.t("audit-verified")) }
            ul.tasks {
                @for (stream, result) in results {
                    li {
                        strong { (stream) } " — "
                        @match result {
                            Ok(r) if r.ok => { span.ok { (lang.t_with("audit-chain-holds", &[("checked", r.checked.into())])) } }
                            Ok(r) => {
                                span.late { (lang.t_with("audit-chain-broken", &[
                                    ("checked", r.checked.into()),
                                    ("at", text(r.broken_at.as_ref().map(|p| format!("{} #{}", p.stream, p.sequence)).unwrap_or_default())),
                                ])) }
                                br; span.muted { (r.broken_subject) " · " (r.reason) }
                            }
                            Err(message) => { span.late { (lang.t_with("step-refused", &[("message", text(message.clone()))])) } }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn form(lang: Lang, search: &Search) -> Markup {
    html! {
        form.card.filters method="get" action="/audit#verification" aria-labelledby="verify" {
            h2 #verify { (lang.t("audit-verify")) }
            div.field {
                label for="audit-verify" { (lang.t("audit-stream")) }
                select #audit-verify name="verify" {
                    option value="all" { (lang.t("audit-all-streams")) }
                    @for stream in STREAMS {
                        option value=(stream) selected[search.verify == stream] { (stream) }
                    }
                }
            }
            div.field {
                label for="audit-chain" { (lang.t("audit-chain")) }
                input #audit-chain type="text" name="chain" value=(search.chain);
            }
            button.primary type="submit" { (lang.t("audit-verify-button")) }
        }
    }
}
