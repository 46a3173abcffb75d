//! Target files (DESIGN.md "A target file"): one gateway and one partner identity, in YAML.
//! Paths inside are relative to the file. Values may also come from the environment
//! (`BEARING_*`); the command line beats the environment, which beats the file — callers
//! apply flags and environment through [`TargetOverrides`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alg::Algorithm;
use crate::assertion::{AssertionSigner, Audience};
use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::key::SigningKey;

/// One protected API of the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    /// A short name (`inventory`), used by `bearing call --api NAME`.
    pub name: String,
    /// HTTP method; defaults to GET.
    #[serde(default = "default_method")]
    pub method: String,
    /// Full URL.
    pub url: url::Url,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A file whose contents are the request body (relative to the target file).
    #[serde(default)]
    pub body_file: Option<PathBuf>,
    /// An inline request body.
    #[serde(default)]
    pub body: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

impl ApiSpec {
    /// The request body: inline, or read from `body_file`.
    ///
    /// # Errors
    /// [`Error::Io`] when the body file cannot be read.
    pub fn load_body(&self) -> Result<Option<Vec<u8>>> {
        if let Some(b) = &self.body {
            return Ok(Some(b.clone().into_bytes()));
        }
        match &self.body_file {
            Some(p) => std::fs::read(p).map(Some).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            }),
            None => Ok(None),
        }
    }
}

/// TLS settings for talking to the gateway.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// Extra CA certificates (PEM bundle) to trust.
    #[serde(default)]
    pub ca_bundle: Option<PathBuf>,
    /// Client certificate (PEM) for mTLS.
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// Client certificate's private key (PEM) for mTLS.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Allow a plain `http://` token URL on a host that is not loopback (a test gateway on
    /// another machine). Defaults to false: the assertion is a credential.
    #[serde(default)]
    pub allow_http: bool,
    /// Trust exactly the server certificate with this SHA-256 (64 hex digits, `:` allowed),
    /// whatever its CA flags, names or dates: the fix for a self-signed gateway (issue 15).
    #[serde(default)]
    pub pin_sha256: Option<String>,
    /// **Dangerous**: accept any server certificate. Never a default; warned on every run
    /// and refused for conform/certify verdicts without `--insecure-verdicts`.
    #[serde(default)]
    pub insecure: bool,
}

/// How assertions are built for this target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionSpec {
    /// Lifetime, e.g. `"60s"`. Defaults to 60 s.
    #[serde(default = "default_ttl", with = "humantime_serde_compat")]
    pub ttl: Duration,
    /// Signing algorithm; defaults to the key's (RS256 for RSA).
    #[serde(default)]
    pub alg: Option<Algorithm>,
    /// `sub`; defaults to the client id.
    #[serde(default)]
    pub subject: Option<String>,
    /// `kid` header.
    #[serde(default)]
    pub kid: Option<String>,
    /// Whether to send the certificate's `x5t#S256` header.
    #[serde(default)]
    pub x5t: bool,
    /// A `scope` claim.
    #[serde(default)]
    pub scope: Option<String>,
    /// Extra claims.
    #[serde(default)]
    pub claims: BTreeMap<String, serde_json::Value>,
}

fn default_ttl() -> Duration {
    Duration::from_secs(60)
}

impl Default for AssertionSpec {
    fn default() -> Self {
        Self {
            ttl: default_ttl(),
            alg: None,
            subject: None,
            kid: None,
            x5t: false,
            scope: None,
            claims: BTreeMap::new(),
        }
    }
}

/// Durations as `"30s"` strings (humantime), per STYLE.md.
pub mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes as `"30s"`.
    ///
    /// # Errors
    /// Never, beyond the serializer's own.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    /// Parses `"30s"`, `"2m"`, `"1h 30m"`.
    ///
    /// # Errors
    /// A message naming the bad value.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration {s:?}: {e}")))
    }
}

/// A target file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The token endpoint.
    pub token_url: url::Url,
    /// The assertion audience; defaults to `token_url`. A list sends an array `aud`.
    #[serde(default)]
    pub audience: Option<Audience>,
    /// The client id (the assertion's `iss`).
    pub client_id: String,
    /// The private key file (PEM or DER).
    pub private_key: PathBuf,
    /// The registered certificate, checked against the key.
    #[serde(default)]
    pub certificate: Option<PathBuf>,
    /// The gateway profile that counts as conformant (`rfc-strict`, `apigee`, or a file).
    #[serde(default)]
    pub profile: Option<String>,
    /// Protected APIs.
    #[serde(default)]
    pub apis: Vec<ApiSpec>,
    /// TLS options.
    #[serde(default)]
    pub tls: TlsSpec,
    /// Assertion options.
    #[serde(default)]
    pub assertion: AssertionSpec,
    /// Speak HTTP/2 to the gateway (issue 15): TLS ALPN offers only `h2`, so a gateway
    /// without HTTP/2 fails with a plain message. Needs `https://` URLs. Defaults to false:
    /// HTTP/1.1 (ALPN `http/1.1`).
    #[serde(default)]
    pub http2: bool,
    /// The sandbox admin API base URL, when the target is a bearing sandbox.
    #[serde(default)]
    pub admin_url: Option<url::Url>,
    /// The secret guarding the admin API.
    #[serde(default)]
    pub admin_secret: Option<String>,
    /// A partner fleet (`bearing load` with `partners: N`): more identities, each its own
    /// client id, key and certificate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentitySpec>,
    /// A partner fleet as a folder of `<client_id>/{private.pem,cert.pem}` (what
    /// `bearing keygen --fleet N` writes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identities_dir: Option<PathBuf>,
    /// Fleet identities already in memory (the embedded sandbox's, generated for the run):
    /// not part of the YAML; used before `identities` and `identities_dir`.
    #[serde(skip)]
    pub fleet: Vec<FleetIdentity>,
    /// Where the file was read from (not part of the YAML).
    #[serde(skip)]
    pub origin: Option<PathBuf>,
}

/// One identity of a partner fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    /// Its client id (the assertion's `iss`).
    pub client_id: String,
    /// Its private key file (PEM or DER).
    pub private_key: PathBuf,
    /// Its registered certificate, checked against the key.
    #[serde(default)]
    pub certificate: Option<PathBuf>,
}

/// A loaded fleet identity (equal when the client id and the key object are the same).
#[derive(Debug, Clone)]
pub struct FleetIdentity {
    /// The client id.
    pub client_id: String,
    /// The private key.
    pub key: Arc<SigningKey>,
    /// The certificate, when one is named.
    pub certificate: Option<Certificate>,
}

impl Target {
    /// Reads a target file and resolves its paths against the file's folder.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Config`] naming `file:line:col`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let mut t: Self = crate::yaml::from_file(path)?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        t.resolve_paths(base);
        t.origin = Some(path.to_owned());
        t.validate()?;
        Ok(t)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.private_key);
        for p in [
            &mut self.certificate,
            &mut self.tls.ca_bundle,
            &mut self.tls.client_cert,
        ]
        .into_iter()
        .chain([&mut self.tls.client_key])
        .flatten()
        {
            fix(p);
        }
        for api in &mut self.apis {
            if let Some(p) = &mut api.body_file {
                fix(p);
            }
        }
        for id in &mut self.identities {
            fix(&mut id.private_key);
            if let Some(c) = &mut id.certificate {
                fix(c);
            }
        }
        if let Some(d) = &mut self.identities_dir {
            fix(d);
        }
    }

    /// The fleet identities the target names (`identities:` then `identities_dir:`, the
    /// folder's sorted by client id), not yet loaded. Empty when it names none.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field or file: an unreadable folder, a client folder
    /// without `private.pem`, a client id named twice.
    pub fn fleet_specs(&self) -> Result<Vec<IdentitySpec>> {
        let origin = self
            .origin
            .as_ref()
            .map_or_else(|| "target".to_owned(), |p| p.display().to_string());
        let mut out = self.identities.clone();
        if let Some(dir) = &self.identities_dir {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                Error::Config(format!("{origin}: identities_dir {}: {e}", dir.display()))
            })?;
            let mut found = Vec::new();
            for e in entries.flatten() {
                let path = e.path();
                if !path.is_dir() {
                    continue;
                }
                let client_id = e.file_name().to_string_lossy().into_owned();
                let private_key = path.join("private.pem");
                if !private_key.is_file() {
                    return Err(Error::Config(format!(
                        "{origin}: identities_dir: {} is missing",
                        private_key.display()
                    )));
                }
                let cert = path.join("cert.pem");
                found.push(IdentitySpec {
                    client_id,
                    private_key,
                    certificate: cert.is_file().then_some(cert),
                });
            }
            found.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            if found.is_empty() {
                return Err(Error::Config(format!(
                    "{origin}: identities_dir {}: no <client_id>/private.pem folders",
                    dir.display()
                )));
            }
            out.extend(found);
        }
        let mut seen = std::collections::HashSet::new();
        for (i, id) in out.iter().enumerate() {
            if id.client_id.trim().is_empty() {
                return Err(Error::Config(format!(
                    "{origin}: identities[{i}].client_id is empty"
                )));
            }
            if !seen.insert(id.client_id.as_str()) {
                return Err(Error::Config(format!(
                    "{origin}: identities: client id {:?} appears twice",
                    id.client_id
                )));
            }
        }
        Ok(out)
    }

    /// Checks the values that YAML types cannot.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let origin = self
            .origin
            .as_ref()
            .map_or_else(|| "target".into(), |p| p.display().to_string());
        if self.client_id.trim().is_empty() {
            return Err(Error::Config(format!("{origin}: client_id is empty")));
        }
        if !matches!(self.token_url.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "{origin}: token_url must be http(s)"
            )));
        }
        use crate::token::refuse_url_credentials as refuse;
        refuse(&self.token_url, &format!("{origin}: token_url"))?;
        if let Some(u) = &self.admin_url {
            refuse(u, &format!("{origin}: admin_url"))?;
        }
        let mut names = std::collections::HashSet::new();
        for api in &self.apis {
            if !names.insert(api.name.as_str()) {
                return Err(Error::Config(format!(
                    "{origin}: api name {:?} appears twice",
                    api.name
                )));
            }
            refuse(&api.url, &format!("{origin}: api {:?} url", api.name))?;
            if !matches!(api.url.scheme(), "http" | "https") {
                return Err(Error::Config(format!(
                    "{origin}: api {:?} url must be http(s), not {}",
                    api.name,
                    api.url.scheme()
                )));
            }
            if api.body.is_some() && api.body_file.is_some() {
                return Err(Error::Config(format!(
                    "{origin}: api {:?} has both body and body_file",
                    api.name
                )));
            }
        }
        if self.http2 {
            let plain = std::iter::once(("token_url".to_owned(), &self.token_url))
                .chain(
                    self.apis
                        .iter()
                        .map(|a| (format!("api {:?} url", a.name), &a.url)),
                )
                .find(|(_, u)| u.scheme() != "https");
            if let Some((field, url)) = plain {
                return Err(Error::Config(format!(
                    "{origin}: http2: true needs https, but {field} is {}: HTTP/2 is chosen \
                     by TLS ALPN and bearing does not speak h2c on plain http; use an \
                     https:// URL or remove http2",
                    crate::token::mask_url(url)
                )));
            }
        }
        if let Some(pin) = &self.tls.pin_sha256 {
            crate::tls::CertificatePin::parse(pin)
                .map_err(|e| Error::Config(format!("{origin}: tls.pin_sha256: {e}")))?;
        }
        if self.tls.client_cert.is_some() != self.tls.client_key.is_some() {
            return Err(Error::Config(format!(
                "{origin}: tls.client_cert and tls.client_key go together"
            )));
        }
        Ok(())
    }

    /// Applies overrides (flags, then environment, as the caller merged them).
    pub fn apply(&mut self, o: &TargetOverrides) {
        if let Some(v) = &o.token_url {
            self.token_url = v.clone();
        }
        if let Some(v) = &o.audience {
            self.audience = Some(Audience::One(v.clone()));
        }
        if let Some(v) = &o.client_id {
            self.client_id = v.clone();
        }
        if let Some(v) = &o.private_key {
            self.private_key = v.clone();
        }
        if let Some(v) = &o.certificate {
            self.certificate = Some(v.clone());
        }
        if o.allow_http {
            self.tls.allow_http = true;
        }
        if o.insecure {
            self.tls.insecure = true;
        }
        if o.http2 {
            self.http2 = true;
        }
    }

    /// The audience to put in assertions.
    pub fn effective_audience(&self) -> Audience {
        self.audience
            .clone()
            .unwrap_or_else(|| Audience::One(self.token_url.to_string()))
    }

    /// Finds an API by name.
    pub fn api(&self, name: &str) -> Option<&ApiSpec> {
        self.apis.iter().find(|a| a.name == name)
    }

    /// Loads the key (and certificate, checking they match and warning on validity) and
    /// builds the assertion signer this target describes.
    ///
    /// # Errors
    /// Key or certificate errors naming the files; [`Error::KeyMismatch`].
    pub fn load_identity(&self) -> Result<Identity> {
        let key = Arc::new(load_key(&self.private_key)?);
        let certificate = match &self.certificate {
            Some(p) => {
                let cert = Certificate::from_file(p)?;
                cert.check_matches(&key)?;
                use crate::clock::Clock as _;
                cert.warn_if_not_valid_at(crate::clock::SystemClock.now_secs());
                Some(cert)
            }
            None => None,
        };
        let a = &self.assertion;
        let mut b = AssertionSigner::builder(Arc::clone(&key), self.client_id.clone())
            .audience(self.effective_audience())
            .ttl(a.ttl);
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
        if a.x5t {
            let cert = certificate.as_ref().ok_or_else(|| {
                Error::Config("assertion.x5t needs a certificate in the target".into())
            })?;
            b = b.x5t_s256(cert.x5t_s256());
        }
        for (k, v) in &a.claims {
            b = b.claim(k.clone(), v.clone());
        }
        Ok(Identity {
            key,
            certificate,
            signer: b.build()?,
        })
    }
}

impl PartialEq for FleetIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.client_id == other.client_id && Arc::ptr_eq(&self.key, &other.key)
    }
}

impl IdentitySpec {
    /// Loads the key and certificate (checked to match).
    ///
    /// # Errors
    /// Key or certificate errors naming the files; [`Error::KeyMismatch`].
    pub fn load(&self) -> Result<FleetIdentity> {
        let key = Arc::new(load_key(&self.private_key)?);
        let certificate = match &self.certificate {
            Some(p) => {
                let cert = Certificate::from_file(p)?;
                cert.check_matches(&key)?;
                Some(cert)
            }
            None => None,
        };
        Ok(FleetIdentity {
            client_id: self.client_id.clone(),
            key,
            certificate,
        })
    }
}

impl Target {
    /// The token client options this target implies (CA bundle, mTLS identity, scope).
    pub fn token_client_options(&self) -> crate::token::TokenClientOptions {
        crate::token::TokenClientOptions {
            ca_bundle: self.tls.ca_bundle.clone(),
            client_cert: self.tls.client_cert.clone(),
            client_key: self.tls.client_key.clone(),
            allow_http: self.tls.allow_http,
            danger_accept_invalid_certs: self.tls.insecure,
            // `validate` has refused a pin that does not parse.
            pin_sha256: self
                .tls
                .pin_sha256
                .as_deref()
                .and_then(|p| crate::tls::CertificatePin::parse(p).ok()),
            http2: self.http2,
            ..Default::default()
        }
    }

    /// A token client for this target's token URL and TLS settings.
    ///
    /// # Errors
    /// As [`crate::token::TokenClient::new`].
    pub fn token_client(&self) -> Result<crate::token::TokenClient> {
        crate::token::TokenClient::new(self.token_url.clone(), &self.token_client_options())
    }

    /// A token manager for this target: its identity, its token client, the system clock
    /// and default refresh settings.
    ///
    /// # Errors
    /// Identity or client errors.
    pub fn token_manager(&self) -> Result<crate::token::TokenManager> {
        self.token_manager_with(&self.token_client_options())
    }

    /// As [`Self::token_manager`], with token client options of the caller's (timeouts,
    /// scope) in place of [`Self::token_client_options`].
    ///
    /// # Errors
    /// Identity or client errors.
    pub fn token_manager_with(
        &self,
        options: &crate::token::TokenClientOptions,
    ) -> Result<crate::token::TokenManager> {
        let id = self.load_identity()?;
        crate::token::TokenManager::new(
            id.signer,
            crate::token::TokenClient::new(self.token_url.clone(), options)?,
            Arc::new(crate::clock::SystemClock),
            crate::token::ManagerConfig::default(),
        )
    }
}

/// Loads a private key given as a path, as PEM text, or as the bare Base64 body of a DER key
/// (from `BEARING_PRIVATE_KEY` or `--key`). Key text is never echoed in an error.
///
/// # Errors
/// As [`SigningKey::from_file`] / [`SigningKey::from_bytes`].
pub fn load_key(path_or_pem: &Path) -> Result<SigningKey> {
    const ORIGIN: &str = "the key text (BEARING_PRIVATE_KEY or --key)";
    let s = zeroize::Zeroizing::new(path_or_pem.as_os_str().to_string_lossy().into_owned());
    if s.trim_start().starts_with("-----BEGIN") {
        return SigningKey::from_bytes(s.as_bytes(), Some(ORIGIN));
    }
    if path_or_pem.exists() {
        return SigningKey::from_file(path_or_pem);
    }
    let body: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(s.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    let base64_like = body.len() >= 64
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if base64_like {
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map(zeroize::Zeroizing::new)
            .map_err(|_| {
                Error::key(
                    Some(ORIGIN),
                    "the value looks like Base64 key text but does not decode \
                     (not echoed); give a file path, or PEM text with its BEGIN/END lines",
                )
            })?;
        return SigningKey::from_bytes(&der, Some(ORIGIN));
    }
    // A long value or one with line breaks is key text gone wrong, not a path: never echo it.
    if s.len() > 255 || s.contains(['\n', '\r']) {
        return Err(Error::key(
            Some(ORIGIN),
            "the value is neither a readable file nor PEM text (not echoed: it may be \
             key material); give a file path, or PEM text with its BEGIN/END lines",
        ));
    }
    SigningKey::from_file(path_or_pem)
}

/// Values that beat the target file (flags, or the environment).
#[derive(Debug, Clone, Default)]
pub struct TargetOverrides {
    /// `--token-url` / `BEARING_TOKEN_URL`.
    pub token_url: Option<url::Url>,
    /// `--aud` / `BEARING_AUDIENCE`.
    pub audience: Option<String>,
    /// `--client-id` / `BEARING_CLIENT_ID`.
    pub client_id: Option<String>,
    /// `--key` / `BEARING_PRIVATE_KEY` (a path, or PEM text).
    pub private_key: Option<PathBuf>,
    /// `--cert` / `BEARING_CERTIFICATE`.
    pub certificate: Option<PathBuf>,
    /// `--allow-http`: plain http to a non-loopback token URL (sets `tls.allow_http`; a
    /// `false` here leaves the file's setting alone).
    pub allow_http: bool,
    /// `--insecure`: accept any server certificate (sets `tls.insecure`; `false` leaves the
    /// file's setting alone).
    pub insecure: bool,
    /// `--http2`: require HTTP/2 (sets `http2`; `false` leaves the file's setting alone).
    pub http2: bool,
}

/// A loaded identity: key, optional certificate, and the signer built from the target.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The private key.
    pub key: Arc<SigningKey>,
    /// The registered certificate, when the target names one.
    pub certificate: Option<Certificate>,
    /// The assertion signer.
    pub signer: AssertionSigner,
}

#[cfg(test)]
mod tests {
    use super::*;

    // Relative paths resolve against the file; unknown fields are refused with a position.
    #[test]
    fn parse_and_resolve() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("t.yaml");
        std::fs::write(
            &p,
            "token_url: https://gw.example.com/oauth/token\nclient_id: SampleConfId\nprivate_key: keys/private.pem\ncertificate: keys/cert.pem\napis:\n  - name: inventory\n    method: POST\n    url: https://gw.example.com/bnpapi/v1/store/inventory\n    headers: { Content-Type: 'application/soap+xml;charset=UTF-8; action=\"store\"' }\n    body_file: bodies/inventory.xml\n",
        )
        .expect("write");
        let t = Target::from_file(&p).expect("parse");
        assert_eq!(t.private_key, dir.path().join("keys/private.pem"));
        assert_eq!(
            t.api("inventory").and_then(|a| a.body_file.clone()),
            Some(dir.path().join("bodies/inventory.xml"))
        );
        assert_eq!(
            t.effective_audience(),
            Audience::One("https://gw.example.com/oauth/token".into())
        );
        assert_eq!(t.assertion.ttl, Duration::from_secs(60));

        std::fs::write(
            &p,
            "token_url: https://x/\nclient_id: c\nprivate_key: k\nbogus: 1\n",
        )
        .expect("write");
        let e = Target::from_file(&p)
            .expect_err("unknown field")
            .to_string();
        assert!(e.contains("t.yaml:4:"), "{e}");
        assert!(e.contains("bogus"), "{e}");
    }

    // Fleet identities: list paths resolve against the file, the folder's client ids are
    // sorted after the list's, and a client id named twice is refused.
    #[test]
    fn fleet_identities() {
        let dir = tempfile::tempdir().expect("tmp");
        for id in ["b", "a"] {
            std::fs::create_dir_all(dir.path().join("fleet").join(id)).expect("dir");
            std::fs::write(dir.path().join("fleet").join(id).join("private.pem"), "x")
                .expect("key");
        }
        let p = dir.path().join("t.yaml");
        let base = "token_url: https://x/\nclient_id: c\nprivate_key: k\nidentities_dir: fleet\n";
        std::fs::write(
            &p,
            format!("{base}identities: [{{ client_id: z, private_key: keys/z.pem }}]\n"),
        )
        .expect("write");
        let specs = Target::from_file(&p)
            .expect("parse")
            .fleet_specs()
            .expect("specs");
        let ids: Vec<&str> = specs.iter().map(|s| s.client_id.as_str()).collect();
        assert_eq!(ids, ["z", "a", "b"]);
        assert_eq!(specs[0].private_key, dir.path().join("keys/z.pem"));
        assert_eq!(specs[1].certificate, None);
        std::fs::write(
            &p,
            format!("{base}identities: [{{ client_id: a, private_key: k }}]\n"),
        )
        .expect("write");
        let e = Target::from_file(&p)
            .expect("parse")
            .fleet_specs()
            .expect_err("twice")
            .to_string();
        assert!(e.contains("\"a\" appears twice"), "{e}");
    }

    // The bundled target files parse, with paths resolved against their folder.
    #[test]
    fn bundled_targets_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/targets");
        for name in ["example-remote.yaml", "sandbox.yaml"] {
            let t = Target::from_file(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.client_id, "SampleConfId");
            assert!(t.private_key.starts_with(&dir), "{name}");
            let api = t.api("inventory").expect("inventory api");
            assert!(
                api.load_body()
                    .expect("body")
                    .is_some_and(|b| b.starts_with(b"<?xml"))
            );
        }
    }

    // Overrides beat the file.
    #[test]
    fn overrides_apply() {
        let mut t: Target = crate::yaml::from_str(
            "token_url: https://a/token\nclient_id: c\nprivate_key: k\nassertion: { ttl: 30s }\n",
            "t",
        )
        .expect("parse");
        assert_eq!(t.assertion.ttl, Duration::from_secs(30));
        t.apply(&TargetOverrides {
            client_id: Some("d".into()),
            ..Default::default()
        });
        assert_eq!(t.client_id, "d");
    }

    // Plain http off loopback needs tls.allow_http in the file or the --allow-http override.
    #[test]
    fn allow_http_reaches_the_client() {
        let yaml = "token_url: http://gw.example.com/oauth/token\nclient_id: c\nprivate_key: k\n";
        let mut t: Target = crate::yaml::from_str(yaml, "t").expect("parse");
        assert!(!t.token_client_options().allow_http);
        let e = t
            .token_client()
            .expect_err("plain http refused")
            .to_string();
        assert!(e.contains("--allow-http"), "{e}");
        t.apply(&TargetOverrides {
            allow_http: true,
            ..Default::default()
        });
        assert!(t.token_client().is_ok());
        let t: Target = crate::yaml::from_str(&format!("{yaml}tls: {{ allow_http: true }}\n"), "t")
            .expect("parse");
        assert!(t.token_client_options().allow_http);
        // A false override leaves the file's setting alone.
        let mut t = t;
        t.apply(&TargetOverrides::default());
        assert!(t.tls.allow_http);
    }
}
