//! Every Sponsus JSON field is written here.

use maecenas_services::records::UserRow;
use serde_json::{Value, json};

/// The seed's Profile object: `_id` is a string here (the seed prints it so).
pub fn profile(user: &UserRow) -> Value {
    json!({
        "description": user.description,
        "about": user.about,
        "status": user.status,
        "username": user.username.clone().unwrap_or_default(),
        "_id": user.id.to_string(),
    })
}
