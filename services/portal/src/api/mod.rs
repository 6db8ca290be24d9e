//! The portal's side of the Tillit API: requests carrying the signed-in user's token,
//! consistency tokens as a page's query string carries them, and (in [`errors`]) what the
//! services' refusals mean to a page.

pub mod errors;

use tillit_proto::common::{ConsistencyToken, Position};

pub use errors::Failure;

/// A gRPC request carrying `access` as its bearer token.
pub fn bearer<T>(access: &str, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    if let Ok(value) = format!("Bearer {access}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

/// A consistency token as the query string carries it: `STREAM.SEQUENCE,…`.
pub fn after_text(token: Option<&ConsistencyToken>) -> String {
    token
        .map(|t| {
            t.positions
                .iter()
                .map(|p| format!("{}.{}", p.stream, p.sequence))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// The token of `after`; malformed parts are left out (the service validates the rest).
pub fn parse_after(after: &str) -> Option<ConsistencyToken> {
    let positions: Vec<Position> = after
        .split(',')
        .filter_map(|part| {
            let (stream, sequence) = part.split_once('.')?;
            Some(Position {
                stream: stream.to_owned(),
                sequence: sequence.parse().ok()?,
            })
        })
        .collect();
    (!positions.is_empty()).then_some(ConsistencyToken { positions })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_consistency_token_goes_through_the_query_string_unchanged() {
        let token = super::parse_after("INCIDENTS.12,IDENTITY.3,garbage").expect("token");
        assert_eq!(super::after_text(Some(&token)), "INCIDENTS.12,IDENTITY.3");
        assert!(super::parse_after("").is_none());
    }
}
