//! How a command fails: one line on stderr and an exit code scripts can test.

use maecenas_services::ServiceError;

/// A failure to report: one line on stderr and an exit code scripts can test.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

/// Exit codes (also in the README): 1 failure, 2 bad usage or input,
/// 3 already exists, 4 not found, 5 a billing run left due pledges unbilled.
impl From<ServiceError> for Failure {
    fn from(err: ServiceError) -> Self {
        let code = match &err {
            ServiceError::Invalid { .. } => 2,
            ServiceError::Conflict(_) => 3,
            ServiceError::NotFound(_) => 4,
            ServiceError::Forbidden | ServiceError::Internal(_) => 1,
        };
        let message = match err {
            // The operator may see the cause; an API client would not.
            ServiceError::Internal(inner) => format!("{inner:#}"),
            other => other.to_string(),
        };
        Failure { code, message }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<ServiceError>() {
            Ok(service) => service.into(),
            Err(err) => Failure {
                code: 1,
                message: format!("{err:#}"),
            },
        }
    }
}
