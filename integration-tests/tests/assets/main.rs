//! The assets service end to end: real nats-server, identity and assets in-process, gRPC.

mod register;

mod support {
    pub use tillit_integration_tests::platform::*;
}
