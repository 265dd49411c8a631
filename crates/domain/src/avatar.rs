//! Profile pictures: what an uploaded file must be before it is stored.
//! The bytes are validated, not decoded: the format is read from its magic
//! numbers and its dimensions from its header, and the picture is served
//! with that type and `nosniff`, so a file that merely claims to be an image
//! is refused.

/// Largest avatar accepted, in bytes.
pub const AVATAR_MAX_BYTES: usize = 1024 * 1024;
/// Largest width or height accepted, in pixels.
pub const AVATAR_MAX_SIDE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvatarImage {
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarError {
    #[error("the picture is empty")]
    Empty,
    #[error("the picture is larger than {AVATAR_MAX_BYTES} bytes")]
    TooLarge,
    #[error("the picture must be a PNG, JPEG or WebP image")]
    UnsupportedType,
    #[error("the picture's header is damaged")]
    Damaged,
    #[error("the picture must be at most {AVATAR_MAX_SIDE}x{AVATAR_MAX_SIDE} pixels")]
    TooManyPixels,
}

/// Checks an uploaded picture and says what it is.
pub fn validate_avatar(bytes: &[u8]) -> Result<AvatarImage, AvatarError> {
    if bytes.is_empty() {
        return Err(AvatarError::Empty);
    }
    if bytes.len() > AVATAR_MAX_BYTES {
        return Err(AvatarError::TooLarge);
    }
    let content_type =
        match imagesize::image_type(bytes).map_err(|_| AvatarError::UnsupportedType)? {
            imagesize::ImageType::Png => "image/png",
            imagesize::ImageType::Jpeg => "image/jpeg",
            imagesize::ImageType::Webp => "image/webp",
            _ => return Err(AvatarError::UnsupportedType),
        };
    let size = imagesize::blob_size(bytes).map_err(|_| AvatarError::Damaged)?;
    if size.width == 0 || size.height == 0 {
        return Err(AvatarError::Damaged);
    }
    if size.width > AVATAR_MAX_SIDE || size.height > AVATAR_MAX_SIDE {
        return Err(AvatarError::TooManyPixels);
    }
    Ok(AvatarImage {
        content_type,
        width: size.width as u32,
        height: size.height as u32,
    })
}

/// A valid 1x1 PNG (tests and the demo).
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_is_known_by_its_bytes() {
        let image = validate_avatar(TINY_PNG).unwrap();
        assert_eq!(
            (image.content_type, image.width, image.height),
            ("image/png", 1, 1)
        );
    }

    #[test]
    fn what_is_not_a_picture_is_refused() {
        assert_eq!(validate_avatar(b""), Err(AvatarError::Empty));
        assert_eq!(
            validate_avatar(b"<svg onload=alert(1)>"),
            Err(AvatarError::UnsupportedType)
        );
        assert_eq!(
            validate_avatar(b"GIF89a\x01\x00\x01\x00"),
            Err(AvatarError::UnsupportedType)
        );
        assert_eq!(validate_avatar(&TINY_PNG[..12]), Err(AvatarError::Damaged));
        let mut huge = TINY_PNG.to_vec();
        huge.resize(AVATAR_MAX_BYTES + 1, 0);
        assert_eq!(validate_avatar(&huge), Err(AvatarError::TooLarge));
    }
}
