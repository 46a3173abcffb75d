//! Registered clients: id → certificates, with a [`Verifier`] parsed once per
//! (client, certificate, algorithm) at registration, never per request (RFC 8725 §3.1, §3.8:
//! the key comes only from the issuer's registered certificates).

use std::sync::Arc;

use bearing_auth::{Algorithm, Certificate, Verifier};
use dashmap::DashMap;

use crate::error::{Error, Result};

/// One registered certificate and its verifiers, one per algorithm the key fits.
#[derive(Debug)]
pub struct RegisteredCert {
    /// The certificate.
    pub certificate: Certificate,
    /// Verifiers parsed once, one per algorithm.
    verifiers: Vec<Verifier>,
}

impl RegisteredCert {
    /// The verifier for `alg`, if the key fits it.
    pub fn verifier(&self, alg: Algorithm) -> Option<&Verifier> {
        self.verifiers.iter().find(|v| v.algorithm() == alg)
    }
}

/// A registered client.
#[derive(Debug)]
pub struct Client {
    /// The client id (`iss`).
    pub id: String,
    /// Its certificates (several during rotation).
    pub certs: Vec<RegisteredCert>,
    /// Scopes it may request.
    pub scopes: Vec<String>,
    /// APIs it may call; empty means all.
    pub apis: Vec<String>,
    /// Algorithms pinned for this client; empty means the profile's list.
    pub algs: Vec<Algorithm>,
}

impl Client {
    /// Builds a client, parsing each certificate's key once per fitting algorithm.
    ///
    /// # Errors
    /// [`Error::Config`] when there is no certificate or a key fits no pinned algorithm,
    /// or is too weak (RSA below 2048 bits, RFC 7518 §3.3).
    pub fn new(
        id: impl Into<String>,
        certificates: Vec<Certificate>,
        scopes: Vec<String>,
        apis: Vec<String>,
        algs: Vec<Algorithm>,
    ) -> Result<Self> {
        let id = id.into();
        if id.is_empty() {
            return Err(Error::Config("client id is empty".into()));
        }
        if certificates.is_empty() {
            return Err(Error::Config(format!("client {id}: no certificate")));
        }
        let mut certs = Vec::with_capacity(certificates.len());
        for (i, certificate) in certificates.into_iter().enumerate() {
            let mut verifiers = Vec::new();
            let mut last_err = None;
            for alg in Algorithm::ALL {
                if !algs.is_empty() && !algs.contains(&alg) {
                    continue;
                }
                match certificate.public_key().verifier(alg) {
                    Ok(v) => verifiers.push(v),
                    Err(e @ bearing_auth::Error::WeakKey { .. }) => {
                        return Err(Error::Config(format!("client {id} certificate {i}: {e}")));
                    }
                    Err(e) => last_err = Some(e),
                }
            }
            if verifiers.is_empty() {
                let why = last_err.map(|e| e.to_string()).unwrap_or_default();
                return Err(Error::Config(format!(
                    "client {id} certificate {i}: its key fits none of the allowed algorithms ({why})"
                )));
            }
            certs.push(RegisteredCert {
                certificate,
                verifiers,
            });
        }
        Ok(Self {
            id,
            certs,
            scopes,
            apis,
            algs,
        })
    }

    /// Whether the client may call the API named `api`.
    pub fn may_call(&self, api: &str) -> bool {
        self.apis.is_empty() || self.apis.iter().any(|a| a == api)
    }
}

/// The client registry, safe to read and extend concurrently.
#[derive(Debug, Default)]
pub struct Registry {
    clients: DashMap<String, Arc<Client>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a client.
    pub fn insert(&self, client: Client) -> Arc<Client> {
        let c = Arc::new(client);
        self.clients.insert(c.id.clone(), Arc::clone(&c));
        c
    }

    /// Removes a client; returns whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        self.clients.remove(id).is_some()
    }

    /// The client with this id (exact, case-sensitive: RFC 7523 §3 #1 simple string
    /// comparison).
    pub fn get(&self, id: &str) -> Option<Arc<Client>> {
        self.clients.get(id).map(|c| Arc::clone(&c))
    }

    /// How many clients are registered.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// The registered client ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self.clients.iter().map(|e| e.key().clone()).collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearing_auth::SigningKey;

    // Verifiers are built per fitting algorithm; pins restrict them; lookups are exact.
    #[test]
    fn registration() {
        let key = SigningKey::generate(Algorithm::ES256, 0).expect("key");
        let cert = Certificate::self_signed(&key, "c", 1).expect("cert");
        let c = Client::new("c", vec![cert.clone()], vec![], vec![], vec![]).expect("client");
        assert!(c.certs[0].verifier(Algorithm::ES256).is_some());
        assert!(c.certs[0].verifier(Algorithm::RS256).is_none());
        let e =
            Client::new("c", vec![cert], vec![], vec![], vec![Algorithm::RS256]).expect_err("pin");
        assert!(e.to_string().contains("fits none"), "{e}");
        let r = Registry::new();
        r.insert(c);
        assert!(r.get("c").is_some());
        assert!(r.get("C").is_none());
        assert!(r.get("c ").is_none());
    }
}
