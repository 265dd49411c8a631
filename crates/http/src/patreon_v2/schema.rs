//! The shapes of this dialect that the OpenAPI document (`/openapi.json`)
//! describes and the handlers' `#[utoipa::path]` attributes name.

use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A webhook as JSON:API: `{"data": {"type": "webhook", "attributes": {...}, "relationships": {...}}}`.
#[derive(Deserialize, ToSchema)]
pub struct WebhookDocument {
    pub data: Value,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookFields {
    /// Sparse fieldset: comma-separated attribute names.
    #[serde(rename = "fields[webhook]")]
    #[param(rename = "fields[webhook]")]
    pub fields: Option<String>,
}
