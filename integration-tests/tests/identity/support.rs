//! The shared harness lives in the crate's library (`src/identity.rs`) so every test
//! binary starts identity the same way.

pub use tillit_integration_tests::identity::*;
