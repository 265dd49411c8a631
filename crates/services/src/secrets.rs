//! Secrets: random tokens (stored as SHA-256) and passwords (stored as argon2id).
//!
//! High-entropy random secrets need no slow hash: SHA-256 of 256 random bits
//! cannot be brute-forced, and it keeps the token endpoint fast. Passwords are
//! low-entropy, so they get argon2id with OWASP's parameters, off the async
//! threads.

use anyhow::Context;
use argon2::password_hash::{
    Output, ParamsString, PasswordHash, PasswordHasher, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ServiceError;

/// A freshly minted secret: the plaintext to show once, and what to store.
pub struct MintedSecret {
    pub plaintext: String,
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for MintedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MintedSecret(..)")
    }
}

/// `prefix` + 256 random bits in URL-safe base64. The prefix lets people and
/// secret scanners tell what a leaked string is (`mck_` API key, `mcs_` client secret).
pub fn mint(prefix: &str) -> Result<MintedSecret, ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
    let plaintext = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = sha256(&plaintext);
    Ok(MintedSecret { plaintext, hash })
}

/// A public identifier with no secrecy, such as an OAuth `client_id`: hex, so
/// it never starts with `-` (a command line would take it for a flag) and
/// needs no escaping anywhere.
pub fn public_identifier(len_bytes: usize) -> Result<String, ServiceError> {
    let mut bytes = vec![0u8; len_bytes];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random generator failed: {e}"))?;
    Ok(hex::encode(bytes))
}

pub fn sha256_bytes(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

pub fn sha256(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares a presented secret with a stored hash in constant time.
pub fn matches_hash(presented: &str, stored_hash: &[u8]) -> bool {
    sha256(presented).ct_eq(stored_hash).into()
}

pub const MIN_PASSWORD_LEN: usize = 8;
/// argon2 is fed the whole password; bound it so a request cannot make it work for minutes.
pub const MAX_PASSWORD_LEN: usize = 1024;

fn argon2() -> Argon2<'static> {
    // OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn check_password_rules(password: &str) -> Result<(), ServiceError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters long"),
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_LEN} bytes long"),
        ));
    }
    Ok(())
}

/// A valid argon2id hash of a random password nobody knows, to verify against
/// when a log-in names no account: the answer then takes as long as a real one.
pub fn timing_decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let password = mint("decoy_").map(|s| s.plaintext).unwrap_or_default();
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// At most one argon2 computation per core at a time. Each takes 19 MiB and
/// a core for tens of milliseconds: unbounded, 64 log-ins at once would hold
/// 1.2 GiB and finish no sooner; bounded, they queue. The permit also counts
/// the caller among those asking (see `with_argon2_memory`).
async fn argon2_permit() -> Result<Argon2Turn, ServiceError> {
    static GATE: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let gate = GATE.get_or_init(|| tokio::sync::Semaphore::new(argon2_cores()));
    let asking = Asking::new();
    let permit = gate.acquire().await.context("argon2 gate closed")?;
    Ok(Argon2Turn {
        _permit: permit,
        _asking: asking,
    })
}

fn argon2_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Who is asking for argon2 and the memory kept for them, under one lock:
/// the decision to keep a block or free them all must see the count and the
/// blocks together, or a block pushed just after the last caller looked
/// stays mapped after the burst.
struct Argon2Callers {
    /// Callers waiting for or holding an argon2 permit.
    asking: usize,
    /// Working memory finished callers left for those still waiting.
    spare: Vec<Argon2Memory>,
}

static ARGON2_CALLERS: std::sync::Mutex<Argon2Callers> = std::sync::Mutex::new(Argon2Callers {
    asking: 0,
    spare: Vec::new(),
});

fn argon2_callers() -> std::sync::MutexGuard<'static, Argon2Callers> {
    ARGON2_CALLERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts its holder among those asking; the last to leave frees the spare
/// blocks.
struct Asking;

impl Asking {
    fn new() -> Self {
        argon2_callers().asking += 1;
        Asking
    }
}

impl Drop for Asking {
    fn drop(&mut self) {
        let freed = {
            let mut callers = argon2_callers();
            callers.asking -= 1;
            if callers.asking == 0 {
                std::mem::take(&mut callers.spare)
            } else {
                Vec::new()
            }
        };
        // Unmapped outside the lock.
        drop(freed);
    }
}

/// A caller's turn at argon2: held until its hash is done.
struct Argon2Turn {
    _permit: tokio::sync::SemaphorePermit<'static>,
    _asking: Asking,
}

/// Runs `f` with argon2's working memory of `blocks` blocks, reusing the
/// memory of earlier runs while log-ins queue. Allocating 19 MiB afresh for
/// every hash costs as much as the hash (the kernel zeroes each page), so a
/// burst reuses one block per core; when nobody asks any more the blocks
/// are unmapped, and a burst of log-ins no longer leaves its memory resident
/// for the rest of the server's life.
fn with_argon2_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    let taken = argon2_callers()
        .spare
        .pop()
        .filter(|memory| memory.len() == blocks);
    let mut memory = taken.unwrap_or_else(|| Argon2Memory::new(blocks));
    let result = f(memory.blocks());
    {
        let mut callers = argon2_callers();
        // This caller is still counted; anyone beyond one per core waits.
        if callers.asking > argon2_cores() {
            callers.spare.push(memory);
            return result;
        }
    }
    drop(memory);
    result
}

/// argon2's working memory in a mapping of its own, not from the allocator:
/// a freed 19 MiB allocation stayed resident (mimalloc returns memory only
/// as the freeing thread allocates again, and the blocking thread that ran
/// the last hash of a burst goes idle), an unmapped one is returned at once.
/// The mapping asks for transparent huge pages: argon2 reads its memory at
/// random, and 4 KiB pages cost it TLB misses.
enum Argon2Memory {
    Mapped(memmap2::MmapMut),
    /// Should the kernel refuse a mapping: the allocator's memory still works.
    Heap(Vec<Block>),
}

impl Argon2Memory {
    fn new(blocks: usize) -> Self {
        match memmap2::MmapMut::map_anon(blocks * Block::SIZE) {
            Ok(map) => {
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::HugePage);
                Argon2Memory::Mapped(map)
            }
            Err(_) => Argon2Memory::Heap(vec![Block::default(); blocks]),
        }
    }

    fn len(&self) -> usize {
        match self {
            Argon2Memory::Mapped(map) => map.len() / Block::SIZE,
            Argon2Memory::Heap(blocks) => blocks.len(),
        }
    }

    fn blocks(&mut self) -> &mut [Block] {
        match self {
            Argon2Memory::Mapped(map) => {
                let len = map.len() / Block::SIZE;
                let start = map.as_mut_ptr().cast::<Block>();
                debug_assert!(start.is_aligned());
                // Sound: the mapping is page-aligned (stricter than `Block`'s
                // alignment), `len` blocks fit in it, it starts zeroed and
                // every bit pattern is a valid `Block` (an array of u64), and
                // the borrow of `self` keeps it mapped and unaliased.
                #[allow(unsafe_code)]
                unsafe {
                    std::slice::from_raw_parts_mut(start, len)
                }
            }
            Argon2Memory::Heap(blocks) => blocks,
        }
    }
}

fn argon2_hash(password: &[u8]) -> Result<String, argon2::password_hash::Error> {
    let hasher = argon2();
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let mut output = [0u8; 32];
    with_argon2_memory(hasher.params().block_count(), |memory| {
        hasher.hash_password_into_with_memory(password, salt_bytes, &mut output, memory)
    })?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(hasher.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output)?),
    };
    Ok(phc.to_string())
}

fn argon2_verify(password: &[u8], stored: &str) -> Result<bool, argon2::password_hash::Error> {
    let parsed = PasswordHash::new(stored)?;
    let algorithm = Algorithm::try_from(parsed.algorithm)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    let params = Params::try_from(&parsed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(argon2::password_hash::Error::PhcStringField);
    };
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let verifier = Argon2::new(algorithm, version, params);
    let mut output = vec![0u8; expected.len()];
    with_argon2_memory(verifier.params().block_count(), |memory| {
        verifier.hash_password_into_with_memory(password, salt_bytes, &mut output, memory)
    })?;
    Ok(expected.as_bytes().ct_eq(&output).into())
}

/// Hashes a password with argon2id on the blocking pool.
pub async fn hash_password(password: String) -> Result<String, ServiceError> {
    check_password_rules(&password)?;
    let _permit = argon2_permit().await?;
    let hash = tokio::task::spawn_blocking(move || argon2_hash(password.as_bytes()))
        .await
        .context("password hashing task")?
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash)
}

/// Checks a password against a stored PHC string on the blocking pool.
pub async fn verify_password(password: String, stored: String) -> Result<bool, ServiceError> {
    if password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    let _permit = argon2_permit().await?;
    let ok = tokio::task::spawn_blocking(move || argon2_verify(password.as_bytes(), &stored))
        .await
        .context("password verification task")?
        .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
    Ok(ok)
}

/// Random lowercase hex of `chars` characters (references, run ids; not secrets).
pub fn random_hex(chars: usize) -> String {
    let mut out = String::with_capacity(chars + 32);
    while out.len() < chars {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(chars);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The argon2 tests share the callers' count and the spare blocks.
    static ARGON2_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[test]
    fn minted_secrets_are_prefixed_unique_and_match_only_their_hash() {
        let a = mint("mck_").unwrap();
        let b = mint("mck_").unwrap();
        assert!(a.plaintext.starts_with("mck_") && a.plaintext.len() == 4 + 43);
        assert_ne!(a.plaintext, b.plaintext);
        assert!(matches_hash(&a.plaintext, &a.hash));
        assert!(!matches_hash(&b.plaintext, &a.hash));
        assert_eq!(
            format!("{a:?}"),
            "MintedSecret(..)",
            "Debug never shows the secret"
        );
    }

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let _alone = ARGON2_TESTS.lock().await;
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse".into(), hash).await.unwrap());
        assert!(matches!(
            hash_password("short".into()).await,
            Err(ServiceError::Invalid {
                field: "password",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        let _alone = ARGON2_TESTS.lock().await;
        use argon2::PasswordVerifier;
        // Ours, checked by the crate's verifier.
        let ours = hash_password("correct horse".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2().verify_password(b"correct horse", &parsed).is_ok());
        // The crate's, with other parameters (an older hash), checked by ours.
        let salt = SaltString::generate(&mut OsRng);
        let older = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"battery staple", &salt)
        .unwrap()
        .to_string();
        assert!(
            verify_password("battery staple".into(), older.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify_password("battery stapler".into(), older)
                .await
                .unwrap()
        );
        assert!(
            verify_password("x".repeat(8), "not a hash".into())
                .await
                .is_err()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_log_ins_verifies_each_and_leaves_no_memory_behind() {
        let _alone = ARGON2_TESTS.lock().await;
        let hash = hash_password("correct horse".into()).await.unwrap();
        for _ in 0..3 {
            let checks: Vec<_> = (0..4 * argon2_cores() + 2)
                .map(|i| {
                    let hash = hash.clone();
                    let password = if i % 2 == 0 {
                        "correct horse"
                    } else {
                        "wrong horse"
                    };
                    tokio::spawn(async move { (i, verify_password(password.into(), hash).await) })
                })
                .collect();
            for check in checks {
                let (i, verified) = check.await.unwrap();
                assert_eq!(verified.unwrap(), i % 2 == 0, "log-in {i}");
            }
            let callers = argon2_callers();
            assert_eq!(callers.asking, 0);
            assert!(
                callers.spare.is_empty(),
                "{} blocks left mapped after the burst",
                callers.spare.len()
            );
        }
    }
}
