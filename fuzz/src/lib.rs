//! Helpers shared by the fuzz targets in `fuzz_targets/`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// The input cut into `N` fields at its first `N - 1` newlines; the last
/// field keeps the rest (newlines included). Missing fields are empty.
/// Newline-separated fields keep inputs, seeds and crash files readable.
pub fn fields<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[..0]; N];
    let mut rest = data;
    for (i, slot) in out.iter_mut().enumerate() {
        if i + 1 == N {
            *slot = rest;
            break;
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(at) => {
                *slot = &rest[..at];
                rest = &rest[at + 1..];
            }
            None => {
                *slot = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    out
}

/// A field as text (lossy: parsers of text see only valid UTF-8, as from axum).
pub fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

/// Runs a future that must not wait on anything (an extractor over a body
/// already in memory) to completion.
pub fn now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the future waited on something"),
    }
}

/// Little-endian u64 from up to 8 bytes.
pub fn u64_from(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = bytes.len().min(8);
    buf[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(buf)
}
