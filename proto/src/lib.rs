//! Wire types of Tillit, generated from the `.proto` sources under `proto/tillit`.
//!
//! Module paths follow the proto packages: `tillit::common::v1` holds positions, tokens and
//! the actor; `tillit::kernel::v1` holds the commit envelope every event stream carries;
//! `tillit::identity::v1` the identity API and its event payloads; one module per service
//! package likewise (`assets`, `incidents`, `reporting`).
//! [`FILE_DESCRIPTOR_SET`] is the encoded descriptor set for gRPC server reflection.
//! [`words`] holds the closed vocabularies' stored words ([`Vocabulary`]): the API carries
//! enums, events keep the words.

/// Generated code, one module per proto package.
pub mod tillit {
    /// Types shared by every API.
    pub mod common {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tillit.common.v1");
        }
    }
    /// The asset register.
    pub mod assets {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tillit.assets.v1");
        }
    }
    /// Deviations and incidents.
    pub mod incidents {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tillit.incidents.v1");
        }
    }
    /// Tenants, users, keys, credentials and the identity API.
    pub mod identity {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tillit.identity.v1");
        }
    }
    /// The audit trail, integrity checks and dashboard figures.
    pub mod reporting {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tillit.reporting.v1");
        }
    }
    /// The event-log envelope.
    pub mod kernel {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("tillit.kernel.v1");
        }
    }
}

pub use tillit::assets::v1 as assets;
pub use tillit::common::v1 as common;
pub use tillit::identity::v1 as identity;
pub use tillit::incidents::v1 as incidents;
pub use tillit::kernel::v1 as kernel;
pub use tillit::reporting::v1 as reporting;

pub mod words;
pub use words::Vocabulary;

/// Encoded `google.protobuf.FileDescriptorSet` of every Tillit proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/tillit_descriptor.bin"));
