//! Domain errors: what went wrong in identity terms. Mapped to SCIM error bodies in
//! exactly one place, `api::response`.

use crate::scim::error::ScimError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Scim(#[from] ScimError),
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule (userName, group displayName) would be broken.
    #[error("{0}")]
    Conflict(String),
    /// The record belongs to another source and is read-only to this caller (the message
    /// names the owner).
    #[error("{0}")]
    Owned(String),
    /// A limit would be exceeded (live tokens per tenant).
    #[error("{0}")]
    TooMany(String),
    /// `If-Match` named a version other than the current one.
    #[error("the resource has changed since the version in If-Match")]
    PreconditionFailed,
    /// Concurrent writers kept winning; the client may retry.
    #[error("the resource is being changed concurrently; retry")]
    Busy,
    /// The change was committed (reads show it) but its last writes failed; the next write to
    /// the record, or a repair pass, completes them.
    #[error(
        "the change was committed, but completing it failed ({0}); it is completed by the next write to this resource, and retrying the request is safe"
    )]
    Unfinished(String),
    /// The stored representation would exceed the size bound.
    #[error("{0}")]
    TooLarge(String),
    #[error("storage failed: {0}")]
    Store(#[from] StoreError),
}

pub type DomainResult<T> = Result<T, DomainError>;
