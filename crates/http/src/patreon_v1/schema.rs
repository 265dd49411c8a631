//! The shapes of this dialect that the OpenAPI document (`/openapi.json`)
//! describes and the handlers' `#[utoipa::path]` attributes name.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// A JSON:API document (Patreon): `data` is a resource or an array of them.
#[derive(Serialize, ToSchema)]
pub struct JsonApiDocument {
    pub data: Value,
    pub included: Option<Vec<Value>>,
    pub links: Option<Value>,
    pub meta: Option<Value>,
}

/// One error of a JSON:API error document.
#[derive(Serialize, ToSchema)]
pub struct JsonApiErrorObject {
    /// Patreon's numeric code (1 Unauthorized, 2 Forbidden, 3 NotFound, 4 BadRequest, …).
    pub code: i64,
    pub code_name: String,
    /// The HTTP status, as a string.
    pub status: String,
    pub title: String,
    pub detail: String,
}

/// Every Patreon failure: `{"errors": [...]}` (401 adds `WWW-Authenticate: Bearer`).
#[derive(Serialize, ToSchema)]
pub struct JsonApiErrors {
    pub errors: Vec<JsonApiErrorObject>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Include {
    /// Comma-separated: `rewards`, `creator`, `goals`, `pledge` (all by default).
    pub include: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Includes {
    /// The seed's spelling of `include`.
    pub includes: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Pledges per page, 1–100 (default 20).
    #[serde(rename = "page[count]")]
    #[param(rename = "page[count]", minimum = 1, maximum = 100)]
    pub count: Option<i64>,
    /// The opaque cursor of `links.next`.
    #[serde(rename = "page[cursor]")]
    #[param(rename = "page[cursor]")]
    pub cursor: Option<String>,
}
