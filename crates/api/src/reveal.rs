//! A query's answer with its personal values opened: projections store them sealed, and
//! every handler's answer passes through here on its way out (a value of an erased data
//! subject reads as `[erased]`).

use tillit_kernel::EventStore;
use tonic::{Response, Status};

/// `answer` with every sealed value in it opened by `store`'s vault.
pub async fn revealed<M>(
    store: &EventStore,
    answer: Result<Response<M>, Status>,
) -> Result<Response<M>, Status>
where
    M: prost::Message + prost::Name + Default,
{
    let (metadata, message, extensions) = answer?.into_parts();
    let message = store.vault()?.reveal(message).await?;
    Ok(Response::from_parts(metadata, message, extensions))
}
