//! Uploaded profile pictures (`maecenas_domain::avatar::validate_avatar`):
//! the type from the magic numbers, the size from the header.
//!
//! Input: the uploaded file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use maecenas_domain::avatar::{AVATAR_MAX_BYTES, AVATAR_MAX_SIDE, AvatarError, validate_avatar};

fuzz_target!(|data: &[u8]| {
    match validate_avatar(data) {
        Ok(image) => {
            assert!(data.len() <= AVATAR_MAX_BYTES);
            assert!(image.width >= 1 && image.width as usize <= AVATAR_MAX_SIDE);
            assert!(image.height >= 1 && image.height as usize <= AVATAR_MAX_SIDE);
            match image.content_type {
                "image/png" => assert!(data.starts_with(b"\x89PNG")),
                "image/jpeg" => assert!(data.starts_with(b"\xFF\xD8\xFF")),
                "image/webp" => {
                    assert!(data.starts_with(b"RIFF") && data.get(8..12) == Some(b"WEBP"))
                }
                other => panic!("served as {other:?}"),
            }
        }
        Err(AvatarError::Empty) => assert!(data.is_empty()),
        Err(AvatarError::TooLarge) => assert!(data.len() > AVATAR_MAX_BYTES),
        Err(_) => assert!(!data.is_empty()),
    }
});
