//! What a load run talks to, resolved once before the run: the token endpoint, the partner
//! identity (signers are built per worker and per user from the key, so no lock is shared),
//! the protected APIs with their bodies loaded, and the sandbox admin API if any.

use std::sync::Arc;

use bearing_auth::{AssertionSigner, JtiSource, RandomJti, SigningKey, Target};
use url::Url;

use crate::error::{Error, Result};

/// One API call, ready to send.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// Its name in the target file.
    pub name: String,
    /// HTTP method.
    pub method: reqwest::Method,
    /// Full URL.
    pub url: Url,
    /// Extra headers.
    pub headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    /// Request body, if any (cheap to clone per request).
    pub body: Option<bytes::Bytes>,
}

/// The sandbox admin API (used by `refresh-storm` to revoke every token).
#[derive(Clone)]
pub struct Admin {
    /// `{base}/admin`.
    pub url: Url,
    /// The admin secret (sent as `X-Admin-Secret`; never logged).
    pub secret: String,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("url", &self.url.as_str())
            .field("secret", &"…")
            .finish()
    }
}

/// One partner identity of a fleet: its client id and key (the signer is built per user).
#[derive(Debug, Clone)]
pub struct Partner {
    /// Its position in the whole fleet (shards keep the fleet's numbering).
    pub index: usize,
    /// Its client id (the assertion's `iss`).
    pub client_id: String,
    key: Arc<SigningKey>,
    x5t: Option<String>,
}

/// A gateway and a partner identity, ready for load.
#[derive(Debug, Clone)]
pub struct LoadTarget {
    /// The token endpoint.
    pub token_url: Url,
    /// Protected APIs.
    pub apis: Vec<ApiCall>,
    /// The admin API, when the target is a bearing sandbox.
    pub admin: Option<Admin>,
    /// `scope` form parameter for token requests.
    pub scope: Option<String>,
    /// The identities users run as (one unless the profile asks for `partners: N`).
    partners: Vec<Partner>,
    target: Target,
    jti_prefix: String,
    /// CA bundle / mTLS identity from the target's `tls` block; `None` when the defaults
    /// (system roots, no client certificate) apply.
    tls: Option<bearing_auth::token::TlsMaterial>,
    /// The rustls configs of the lean connections (ALPN `http/1.1`), with and without
    /// session resumption, built once: loading the platform roots is not per user.
    http1_tls: [Arc<tokio_rustls::rustls::ClientConfig>; 2],
    /// Server certificates go unchecked (`tls.insecure` without a pin).
    pub insecure: bool,
    /// The target's `http2: true`: the lean connections (and the users' reqwest clients)
    /// offer only ALPN `h2` (issue 15).
    pub http2: bool,
}

impl LoadTarget {
    /// Resolves a target: loads the key (and certificate, checked), the API bodies, and
    /// the admin URL/secret. `jti_prefix` keeps the `jti`s of shards disjoint.
    ///
    /// # Errors
    /// Key, certificate or body-file errors; [`Error::Target`] for an unusable API spec.
    pub fn from_target(target: &Target, jti_prefix: &str) -> Result<Self> {
        // Assertions and tokens are credentials: no clear text off this machine unless the
        // target says so (the same rule as the token client).
        bearing_auth::token::check_plain_http(&target.token_url, target.tls.allow_http)?;
        for a in &target.apis {
            bearing_auth::token::check_plain_http(&a.url, target.tls.allow_http)?;
        }
        let tls = bearing_auth::token::TlsMaterial::load(&target.token_client_options())?;
        let alpn: &[&[u8]] = if target.http2 {
            &[b"h2"]
        } else {
            &[b"http/1.1"]
        };
        let http1_tls = [
            tls.client_config(alpn, false),
            tls.client_config(alpn, true),
        ];
        let insecure = tls.is_insecure();
        let tls = (!tls.is_default()).then_some(tls);
        let identity = target.load_identity()?;
        let x5t = if target.assertion.x5t {
            identity
                .certificate
                .as_ref()
                .map(bearing_auth::Certificate::x5t_s256)
        } else {
            None
        };
        let mut apis = Vec::new();
        for a in &target.apis {
            let method = reqwest::Method::from_bytes(a.method.to_ascii_uppercase().as_bytes())
                .map_err(|_| {
                    Error::Target(format!("api {:?}: invalid method {:?}", a.name, a.method))
                })?;
            let mut headers = Vec::new();
            for (k, v) in &a.headers {
                let name = reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                    Error::Target(format!("api {:?}: invalid header name {k:?}", a.name))
                })?;
                let value = reqwest::header::HeaderValue::from_str(v).map_err(|_| {
                    Error::Target(format!("api {:?}: invalid value of header {k:?}", a.name))
                })?;
                headers.push((name, value));
            }
            let body = a.load_body()?.map(bytes::Bytes::from);
            apis.push(ApiCall {
                name: a.name.clone(),
                method,
                url: a.url.clone(),
                headers,
                body,
            });
        }
        let admin = match (&target.admin_url, &target.admin_secret) {
            (Some(url), Some(secret)) => Some(Admin {
                url: url.clone(),
                secret: secret.clone(),
            }),
            _ => None,
        };
        Ok(Self {
            token_url: target.token_url.clone(),
            apis,
            admin,
            scope: target.assertion.scope.clone(),
            partners: vec![Partner {
                index: 0,
                client_id: target.client_id.clone(),
                key: identity.key,
                x5t,
            }],
            target: target.clone(),
            jti_prefix: jti_prefix.to_owned(),
            tls,
            http1_tls,
            insecure,
            http2: target.http2,
        })
    }

    /// The API a scenario calls: by name, or the first.
    ///
    /// # Errors
    /// [`Error::Target`] when the target has no (such) API.
    pub fn api(&self, name: Option<&str>) -> Result<&ApiCall> {
        match name {
            Some(n) => self.apis.iter().find(|a| a.name == n).ok_or_else(|| {
                let known: Vec<&str> = self.apis.iter().map(|a| a.name.as_str()).collect();
                Error::Target(format!("no api named {n:?} (the target has {known:?})"))
            }),
            None => self.apis.first().ok_or_else(|| {
                Error::Target("the target lists no apis; api scenarios need one".into())
            }),
        }
    }

    /// An HTTP client for one simulated user when the target has its own TLS settings (CA
    /// bundle, mTLS identity); `None` when goose's per-user client (system roots) will do.
    ///
    /// # Errors
    /// [`Error::Target`] when reqwest refuses the TLS settings.
    pub fn user_client(&self, timeout: std::time::Duration) -> Result<Option<reqwest::Client>> {
        let Some(tls) = &self.tls else {
            return Ok(None);
        };
        let builder = reqwest::Client::builder()
            .user_agent(concat!("bearing/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none());
        tls.apply(builder)
            .build()
            .map(Some)
            .map_err(|e| Error::Target(format!("cannot build the http client: {e}")))
    }

    /// The rustls config of the lean per-user connections (ALPN `http/1.1`), resuming
    /// sessions or not.
    pub(crate) fn http1_tls(&self, resumption: bool) -> &Arc<tokio_rustls::rustls::ClientConfig> {
        &self.http1_tls[usize::from(resumption)]
    }

    /// The base URL (`scheme://host:port`) goose is given.
    pub fn base_url(&self) -> String {
        let u = &self.token_url;
        let mut s = format!("{}://{}", u.scheme(), u.host_str().unwrap_or("127.0.0.1"));
        if let Some(p) = u.port() {
            s.push_str(&format!(":{p}"));
        }
        s
    }

    /// The identities users run as.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }

    /// This target with a fleet of `count` partners (the first `count` identities the
    /// target file names), of which shard `i` of `n` keeps partners i, i+n, … With
    /// `count` 1 the target's own identity is kept.
    ///
    /// # Errors
    /// [`Error::Target`] naming `partners` when the target names too few identities or a
    /// shard would get none; key/certificate errors naming the file.
    pub fn with_partners(&self, count: usize, shard: Option<(u32, u32)>) -> Result<Self> {
        if count <= 1 {
            return Ok(self.clone());
        }
        // In memory (the embedded sandbox's), else named by the target file.
        let preloaded = &self.target.fleet;
        let specs = if preloaded.is_empty() {
            self.target.fleet_specs()?
        } else {
            Vec::new()
        };
        let available = preloaded.len().max(specs.len());
        if available < count {
            return Err(Error::Target(format!(
                "partners: {count} but the target names {available} fleet identities \
                 (give identities: or identities_dir: in the target file; \
                 `bearing keygen --fleet {count} --out DIR` writes such a folder)"
            )));
        }
        let (i, n) = shard.map_or((0, 1), |(i, n)| (i as usize, n.max(1) as usize));
        let mut partners = Vec::new();
        for index in (i..count).step_by(n) {
            let id = match preloaded.get(index) {
                Some(id) => id.clone(),
                None => specs[index].load()?,
            };
            let x5t = if self.target.assertion.x5t {
                let cert = id.certificate.as_ref().ok_or_else(|| {
                    Error::Target(format!(
                        "identity {:?}: assertion.x5t needs its certificate",
                        id.client_id
                    ))
                })?;
                Some(cert.x5t_s256())
            } else {
                None
            };
            partners.push(Partner {
                index,
                client_id: id.client_id,
                key: id.key,
                x5t,
            });
        }
        if partners.is_empty() {
            return Err(Error::Target(format!(
                "partners: {count} leaves shard {i}/{n} no partner (fewer partners than shards)"
            )));
        }
        let mut t = self.clone();
        t.partners = partners;
        Ok(t)
    }

    /// A signer of the first partner (see [`Self::signer_for`]).
    ///
    /// # Errors
    /// Key or claim errors.
    pub fn signer(&self, own_key: bool) -> bearing_auth::Result<AssertionSigner> {
        self.signer_for(0, own_key)
    }

    /// A signer with the target's assertion options for partner `slot` (modulo the
    /// fleet), each partner with its own `jti` space. With `own_key`, it parses its own
    /// copy of the key, so signers on different threads share no lock (aws-lc guards an
    /// RSA key's blinding state with a mutex).
    ///
    /// # Errors
    /// Key or claim errors.
    pub fn signer_for(&self, slot: usize, own_key: bool) -> bearing_auth::Result<AssertionSigner> {
        let p = &self.partners[slot % self.partners.len()];
        let key = if own_key {
            Arc::new(SigningKey::from_pkcs8(
                p.key.pkcs8_der().expose(),
                p.key.origin(),
            )?)
        } else {
            Arc::clone(&p.key)
        };
        let a = &self.target.assertion;
        let prefix = if self.partners.len() > 1 {
            format!("{}p{}-", self.jti_prefix, p.index)
        } else {
            self.jti_prefix.clone()
        };
        let jti: Arc<dyn JtiSource> = Arc::new(RandomJti::with_prefix(prefix));
        let mut b = AssertionSigner::builder(key, p.client_id.clone())
            .audience(self.target.effective_audience())
            .ttl(a.ttl)
            .jti_source(jti);
        if let Some(alg) = a.alg {
            b = b.algorithm(alg);
        }
        if let Some(s) = &a.subject {
            b = b.subject(s.clone());
        }
        if let Some(k) = &a.kid {
            b = b.kid(k.clone());
        }
        if let Some(s) = &a.scope {
            b = b.scope(s.clone());
        }
        if let Some(t) = &p.x5t {
            b = b.x5t_s256(t.clone());
        }
        for (k, v) in &a.claims {
            b = b.claim(k.clone(), v.clone());
        }
        b.build()
    }
}
