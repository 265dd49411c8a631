use maecenas_domain::ValidationError;
use maecenas_store::StoreError;

/// What a use case can answer besides success. No HTTP and no sqlx here:
/// each dialect maps these to its own status and shape, once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed")]
    Forbidden,
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0}")]
    Conflict(&'static str),
    /// Store, gateway or bug. Displays without detail so nothing leaks to a
    /// client; the cause is logged once where the response is built.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        ServiceError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Invalid {
            field: e.field,
            reason: e.reason,
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ServiceError::Conflict("already exists"),
            // Input the checks let through but the database cannot hold: the
            // client's to fix, never a 500.
            StoreError::Unstorable(_) => ServiceError::invalid(
                "input",
                "holds a value that cannot be stored (a NUL character, or a number out of range)",
            ),
            other => ServiceError::Internal(anyhow::Error::new(other)),
        }
    }
}
