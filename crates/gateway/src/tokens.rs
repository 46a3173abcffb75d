//! The access-token store: opaque random tokens (256 bits, base64url) in a sharded map with
//! their client, scope and expiry. Lookups check expiry against the gateway clock; a sweep
//! removes expired entries and shrinks the map so memory stays bounded under millions of
//! issuances (issue 3, "Tokens").

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dashmap::DashMap;
use rand::RngCore as _;

use crate::registry::Client;

/// What the gateway knows about one issued token.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    /// The client it was issued to.
    pub client: Arc<Client>,
    /// The granted scope (space-separated), if any.
    pub scope: Option<Arc<str>>,
    /// Issue time, ms since the epoch (gateway clock).
    pub issued_ms: i64,
    /// Expiry, ms since the epoch (gateway clock).
    pub expires_ms: i64,
    /// The `jti` of the assertion it was issued for, if any.
    pub jti: Option<Arc<str>>,
}

/// Why a token lookup failed (all are `invalid_token`, RFC 6750 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Never issued, revoked or swept.
    Unknown,
    /// Past its expiry.
    Expired,
}

/// Issued access tokens.
#[derive(Debug, Default)]
pub struct TokenStore {
    tokens: DashMap<Box<str>, TokenEntry>,
}

impl TokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Issues a fresh random token for `entry`.
    pub fn issue(&self, entry: TokenEntry) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        self.tokens.insert(token.as_str().into(), entry);
        token
    }

    /// The entry of a live token.
    ///
    /// # Errors
    /// [`TokenProblem`] when unknown or expired at `now_ms`.
    pub fn lookup(&self, token: &str, now_ms: i64) -> Result<TokenEntry, TokenProblem> {
        let e = self.tokens.get(token).ok_or(TokenProblem::Unknown)?;
        if now_ms >= e.expires_ms {
            return Err(TokenProblem::Expired);
        }
        Ok(e.clone())
    }

    /// Revokes every token; returns how many.
    pub fn revoke_all(&self) -> usize {
        let n = self.tokens.len();
        self.tokens.clear();
        self.tokens.shrink_to_fit();
        n
    }

    /// Revokes the tokens of one client; returns how many.
    pub fn revoke_client(&self, client_id: &str) -> usize {
        let before = self.tokens.len();
        self.tokens.retain(|_, e| e.client.id != client_id);
        before - self.tokens.len()
    }

    /// Revokes one token; returns whether it existed.
    pub fn revoke(&self, token: &str) -> bool {
        self.tokens.remove(token).is_some()
    }

    /// Removes tokens expired at `now_ms`; returns how many. Shrinks the map when it has
    /// become mostly empty.
    pub fn sweep(&self, now_ms: i64) -> usize {
        let before = self.tokens.len();
        self.tokens.retain(|_, e| e.expires_ms > now_ms);
        let after = self.tokens.len();
        if after.saturating_mul(4) < self.tokens.capacity() && self.tokens.capacity() > 1024 {
            self.tokens.shrink_to_fit();
        }
        before - after
    }

    /// Tokens held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The map's capacity (for memory-bound tests).
    pub fn capacity(&self) -> usize {
        self.tokens.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearing_auth::{Algorithm, Certificate, SigningKey};

    fn client(id: &str) -> Arc<Client> {
        let key = SigningKey::generate(Algorithm::ES256, 0).expect("key");
        let cert = Certificate::self_signed(&key, id, 1).expect("cert");
        Arc::new(Client::new(id, vec![cert], vec![], vec![], vec![]).expect("client"))
    }

    fn entry(c: &Arc<Client>, exp: i64) -> TokenEntry {
        TokenEntry {
            client: Arc::clone(c),
            scope: None,
            issued_ms: 0,
            expires_ms: exp,
            jti: None,
        }
    }

    // Tokens are unique, expire, are revoked per client, and sweeping frees them.
    #[test]
    fn lifecycle() {
        let (a, b) = (client("a"), client("b"));
        let s = TokenStore::new();
        let t1 = s.issue(entry(&a, 1_000));
        let t2 = s.issue(entry(&b, 1_000));
        assert_ne!(t1, t2);
        assert_eq!(t1.len(), 43);
        assert!(s.lookup(&t1, 999).is_ok());
        assert_eq!(
            s.lookup(&t1, 1_000).expect_err("expired"),
            TokenProblem::Expired
        );
        assert_eq!(
            s.lookup("nope", 0).expect_err("unknown"),
            TokenProblem::Unknown
        );
        assert_eq!(s.revoke_client("a"), 1);
        assert_eq!(
            s.lookup(&t1, 0).expect_err("revoked"),
            TokenProblem::Unknown
        );
        assert_eq!(s.sweep(1_000), 1);
        assert!(s.is_empty());
    }
}
