//! The shapes of this dialect that the OpenAPI document (`/openapi.json`)
//! describes and the handlers' `#[utoipa::path]` attributes name.

use serde::Serialize;
use utoipa::ToSchema;

/// A Sponsus success: `success` is true, the rest depends on the route.
#[derive(Serialize, ToSchema)]
pub struct SponsusSuccess {
    pub success: bool,
}

/// Every Sponsus failure.
#[derive(Serialize, ToSchema)]
pub struct SponsusFailure {
    /// Always false.
    pub success: bool,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}
