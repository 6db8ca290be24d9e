//! The events of identity's aggregates and the aggregate types of their commits: what the
//! identity service's deciders emit and the directory and compliance views read.

use tillit_kernel::AggregateType;
use tillit_proto::identity::{
    AccessReviewCompleted, AccessReviewItemDecided, AccessReviewStarted, DataSubjectErased,
    ErasureRequested, PolicyAcknowledged, PolicyVersionPublished, RoleGranted, RoleRevoked,
    ServiceAccountCreated, ServiceAccountDeactivated, ServiceAccountSecretRotated, SessionEnded,
    SessionVersionRaised, TenantCreated, TenantDetailsChanged, TrainingRecorded, UserCreated,
    UserDeactivated,
};

/// The aggregate type of an erasure request's commits (under `internal`).
pub const ERASURE: AggregateType = AggregateType::new("erasure");
/// The aggregate type of a tenant's commits.
pub const TENANT: AggregateType = AggregateType::new("tenant");
/// The aggregate type of a service account's commits.
pub const SERVICE_ACCOUNT: AggregateType = AggregateType::new("service_account");
/// The aggregate type of a user's commits.
pub const USER: AggregateType = AggregateType::new("user");
/// The aggregate type of a policy's commits.
pub const POLICY: AggregateType = AggregateType::new("policy");
/// The aggregate type of a policy acknowledgement's commits.
pub const POLICY_ACKNOWLEDGEMENT: AggregateType = AggregateType::new("policy_acknowledgement");
/// The aggregate type of a training's commits.
pub const TRAINING: AggregateType = AggregateType::new("training");
/// The aggregate type of an access review's commits.
pub const ACCESS_REVIEW: AggregateType = AggregateType::new("access_review");

tillit_kernel::event_enum! {
    /// Events of a tenant.
    pub enum TenantEvent {
        /// The tenant was created.
        Created(TenantCreated),
        /// Its details were replaced.
        DetailsChanged(TenantDetailsChanged),
    }
}

tillit_kernel::event_enum! {
    /// Events of a service account.
    pub enum ServiceAccountEvent {
        /// Registered, session version 1.
        Created(ServiceAccountCreated),
        /// New secret, session version raised.
        SecretRotated(ServiceAccountSecretRotated),
        /// Deactivated, session version raised.
        Deactivated(ServiceAccountDeactivated),
    }
}

tillit_kernel::event_enum! {
    /// Events of a user.
    pub enum UserEvent {
        /// Created, session version 1.
        Created(UserCreated),
        /// A role granted.
        RoleGranted(RoleGranted),
        /// A role revoked, session version raised.
        RoleRevoked(RoleRevoked),
        /// Deactivated, session version raised.
        Deactivated(UserDeactivated),
        /// Session version raised.
        SessionVersionRaised(SessionVersionRaised),
        /// One session ended (logout, a stolen refresh token).
        SessionEnded(SessionEnded),
    }
}

tillit_kernel::event_enum! {
    /// Events of a policy.
    pub enum PolicyEvent {
        /// A version was published.
        Published(PolicyVersionPublished),
    }
}

tillit_kernel::event_enum! {
    /// Events of one user's acknowledgements of one policy.
    pub enum AcknowledgementEvent {
        /// A version was acknowledged.
        Acknowledged(PolicyAcknowledged),
    }
}

tillit_kernel::event_enum! {
    /// Events of a user's record of one course.
    pub enum TrainingEvent {
        /// A completion was recorded.
        Recorded(TrainingRecorded),
    }
}

tillit_kernel::event_enum! {
    /// Events of a campaign.
    pub enum AccessReviewEvent {
        /// Started with its items.
        Started(AccessReviewStarted),
        /// An item was decided.
        ItemDecided(AccessReviewItemDecided),
        /// Every item was decided.
        Completed(AccessReviewCompleted),
    }
}

tillit_kernel::event_enum! {
    /// Events of an erasure request.
    pub enum ErasureEvent {
        /// Asked for, awaiting a second person's approval.
        Requested(ErasureRequested),
        /// Approved: the subject's keys are destroyed.
        Erased(DataSubjectErased),
    }
}
