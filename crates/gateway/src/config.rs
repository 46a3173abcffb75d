//! The gateway's configuration: `gateway.yaml` (deny-unknown-fields, durations as `"30s"`,
//! paths relative to the file), `--client ID=cert.pem` flags and the in-process sandbox.
//!
//! ```yaml
//! listen: 127.0.0.1:8443
//! public_url: https://gw.example.com      # optional; the token URL and audience derive from it
//! profile: rfc-strict                      # built-in name or a profile file
//! token_lifetime: 180s                     # optional; overrides the profile's
//! admin_secret: change-me                  # optional; generated when absent
//! clients:
//!   SampleConfId:
//!     certificates: [keys/cert.pem]        # files, inline PEM or Base64 DER
//!     scopes: [inventory]
//!     apis: [inventory]                    # empty: every API
//! apis:
//!   - name: inventory
//!     path: /bnpapi/v1/store/inventory
//!     methods: [GET, POST]
//! faults:
//!   inventory: { latency: 5ms, error_503: 0.01 }
//! tls: { self_signed: true }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bearing_auth::profile::{duration, opt_duration};
use bearing_auth::{Algorithm, Certificate, GatewayProfile};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fault::FaultSpec;

/// The default protected API path (the portal's sample).
pub const DEFAULT_API_PATH: &str = "/bnpapi/v1/store/inventory";
/// The token endpoint path.
pub const TOKEN_PATH: &str = "/oauth/token";
/// Default request body limit: 64 KiB.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// The whole gateway configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Where to listen. Defaults to `127.0.0.1:0` (a free port).
    pub listen: SocketAddr,
    /// The externally visible base URL (`https://gw.example.com`). Defaults to
    /// `http(s)://{bound address}`. The token URL (`{public_url}/oauth/token`) is the
    /// audience assertions must name (profile `audiences`).
    pub public_url: Option<url::Url>,
    /// The profile: a built-in name (`rfc-strict`, `apigee`) or a YAML file.
    pub profile: String,
    /// Access-token lifetime; overrides the profile's `access_token_lifetime`.
    #[serde(with = "opt_duration")]
    pub token_lifetime: Option<Duration>,
    /// Secret guarding `/admin/*` (header `X-Admin-Secret` or `Authorization: Bearer`).
    /// Generated at start when absent.
    pub admin_secret: Option<String>,
    /// The `realm` of `WWW-Authenticate: Bearer` challenges.
    pub realm: String,
    /// Largest accepted request body in bytes (token endpoint and APIs). Defaults to 64 KiB.
    pub max_body_bytes: usize,
    /// Registered clients by client id (the assertion's `iss`).
    pub clients: BTreeMap<String, ClientConfig>,
    /// Protected APIs. Defaults to `inventory` at [`DEFAULT_API_PATH`], GET and POST.
    pub apis: Vec<ApiConfig>,
    /// Fault injection by route: `token`, an API name, or `*` for every route.
    pub faults: BTreeMap<String, FaultSpec>,
    /// TLS; plain HTTP when absent.
    pub tls: Option<TlsConfig>,
    /// How often expired tokens and `jti`s are swept. Defaults to 1 s.
    #[serde(with = "duration")]
    pub sweep_interval: Duration,
    /// Directory that relative paths are resolved against (the config file's directory).
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
    /// A profile given as a value (takes precedence over `profile`); for in-process use.
    #[serde(skip)]
    pub profile_override: Option<GatewayProfile>,
}

/// One registered client (RFC 7523: the `iss` of its assertions).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientConfig {
    /// Its certificates: file paths, inline PEM or the Base64 DER a portal shows. Several
    /// allow rotation; the signature is checked with these and nothing else.
    pub certificates: Vec<String>,
    /// Scopes it may request; empty means it may request none (and gets none).
    pub scopes: Vec<String>,
    /// Names of the APIs it may call; empty means every API.
    pub apis: Vec<String>,
    /// Algorithms this client may use, within the profile's `allowed_algs`; empty means the
    /// profile's list (RFC 8725 §3.1: pin one algorithm per key).
    pub algs: Vec<Algorithm>,
    /// Certificates given as values (from flags or code), added to `certificates`.
    #[serde(skip)]
    pub loaded: Vec<Certificate>,
}

/// A protected API route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Short name (`inventory`), used by faults, client `apis` and metrics.
    pub name: String,
    /// Path (`/bnpapi/v1/store/inventory`).
    pub path: String,
    /// Methods served; defaults to GET and POST.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// A scope the token must carry, besides the client being allowed this API.
    #[serde(default)]
    pub scope: Option<String>,
    /// The answer to an authorised call; defaults to a small JSON (or SOAP for SOAP requests).
    #[serde(default)]
    pub response: Option<ApiResponse>,
}

fn default_methods() -> Vec<String> {
    vec!["GET".into(), "POST".into()]
}

/// A fixed answer for an API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiResponse {
    /// Status code; defaults to 200.
    #[serde(default = "default_status")]
    pub status: u16,
    /// `Content-Type`.
    pub content_type: String,
    /// Body text.
    pub body: String,
}

fn default_status() -> u16 {
    200
}

/// TLS for the listener.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// Private key (PEM, PKCS#8/PKCS#1/SEC1).
    pub key: Option<PathBuf>,
    /// Generate a self-signed certificate for `localhost`/`127.0.0.1` instead.
    pub self_signed: bool,
    /// CA certificates (PEM) that client certificates must chain to (mTLS).
    pub client_ca: Option<PathBuf>,
    /// Whether a client certificate is required (true) or optional (false) when
    /// `client_ca` is set.
    pub client_cert_required: bool,
    /// Offer only HTTP/1.1 in ALPN (a gateway without HTTP/2). Defaults to false: `h2` and
    /// `http/1.1` are offered and the client picks (issue 15).
    pub http1_only: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            profile: "rfc-strict".into(),
            token_lifetime: None,
            admin_secret: None,
            realm: "bearing".into(),
            max_body_bytes: DEFAULT_MAX_BODY,
            clients: BTreeMap::new(),
            apis: vec![ApiConfig::default_inventory()],
            faults: BTreeMap::new(),
            tls: None,
            sweep_interval: Duration::from_secs(1),
            base_dir: None,
            profile_override: None,
        }
    }
}

impl ApiConfig {
    /// The default API: `inventory` at [`DEFAULT_API_PATH`], GET and POST.
    pub fn default_inventory() -> Self {
        Self {
            name: "inventory".into(),
            path: DEFAULT_API_PATH.into(),
            methods: default_methods(),
            scope: None,
            response: None,
        }
    }
}

impl GatewayConfig {
    /// A sandbox for tests and the embedded default: the given clients (allowed every API),
    /// `rfc-strict`, 127.0.0.1:0, 30 s tokens and a 250 ms sweep.
    pub fn sandbox(clients: Vec<(String, Certificate)>) -> Self {
        let mut c = Self {
            token_lifetime: Some(Duration::from_secs(30)),
            sweep_interval: Duration::from_millis(250),
            ..Self::default()
        };
        for (id, cert) in clients {
            c.add_client(id, cert);
        }
        c
    }

    /// Registers `cert` for `client_id` (adding to any certificates it already has).
    pub fn add_client(&mut self, client_id: impl Into<String>, cert: Certificate) -> &mut Self {
        self.clients
            .entry(client_id.into())
            .or_default()
            .loaded
            .push(cert);
        self
    }

    /// Reads a YAML configuration file; relative paths are resolved against its directory.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::Config`] naming `file:line:col` or the field at fault.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut c = Self::from_yaml_str(&text, &path.display().to_string())?;
        c.base_dir = path.parent().map(Path::to_path_buf);
        Ok(c)
    }

    /// Parses YAML text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`Error::Config`] naming `origin:line:col`.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self> {
        bearing_auth::yaml::from_str(text, origin).map_err(|e| Error::Config(e.to_string()))
    }

    /// Resolves a path named in the file against the file's directory.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        match &self.base_dir {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// The active profile: `profile_override`, else the built-in or file named by `profile`,
    /// with `token_lifetime` applied.
    ///
    /// # Errors
    /// [`Error::Auth`] when the profile cannot be loaded.
    pub fn load_profile(&self) -> Result<GatewayProfile> {
        let mut p = match &self.profile_override {
            Some(p) => p.clone(),
            None => match GatewayProfile::builtin(&self.profile) {
                Some(p) => p,
                None => {
                    let path = self.resolve_path(Path::new(&self.profile));
                    if !path.exists() {
                        return Err(Error::Config(format!(
                            "profile {:?}: not one of {} nor a file",
                            self.profile,
                            bearing_auth::BUILTIN_PROFILES.join(", ")
                        )));
                    }
                    GatewayProfile::from_file(&path)?
                }
            },
        };
        if let Some(l) = self.token_lifetime {
            p.access_token_lifetime = l;
        }
        p.validate()?;
        Ok(p)
    }

    /// Loads every certificate of `client_id`'s config.
    ///
    /// # Errors
    /// [`Error::Config`] naming the client and the certificate entry.
    pub fn load_certificates(&self, client_id: &str, c: &ClientConfig) -> Result<Vec<Certificate>> {
        let mut out = c.loaded.clone();
        for (i, entry) in c.certificates.iter().enumerate() {
            let cert = self.load_certificate(entry).map_err(|e| {
                Error::Config(format!("clients.{client_id}.certificates[{i}]: {e}"))
            })?;
            out.push(cert);
        }
        Ok(out)
    }

    fn load_certificate(&self, entry: &str) -> Result<Certificate> {
        let trimmed = entry.trim();
        if trimmed.starts_with("-----BEGIN") {
            return Ok(Certificate::from_bytes(
                trimmed.as_bytes(),
                Some("inline PEM"),
            )?);
        }
        let path = self.resolve_path(Path::new(trimmed));
        if path.is_file() {
            return Ok(Certificate::from_file(&path)?);
        }
        Certificate::from_bytes(trimmed.as_bytes(), Some("inline Base64 DER")).map_err(|e| {
            Error::Config(format!(
                "\"{}\" is neither a file ({} not found) nor a certificate ({e})",
                bearing_auth::redact(trimmed),
                path.display()
            ))
        })
    }

    /// Checks the configuration as a whole, loading the profile and every certificate.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        self.load_profile()?;
        if self.max_body_bytes < 1024 {
            return bad(format!(
                "max_body_bytes {} is below 1024",
                self.max_body_bytes
            ));
        }
        if self.realm.is_empty() || self.realm.contains(['"', '\\']) {
            return bad("realm must be non-empty and contain no quote or backslash".into());
        }
        if let Some(s) = &self.admin_secret
            && s.len() < 8
        {
            return bad("admin_secret must be at least 8 characters".into());
        }
        if let Some(u) = &self.public_url
            && !matches!(u.scheme(), "http" | "https")
        {
            return bad(format!("public_url {u} must be http or https"));
        }
        if self.sweep_interval.is_zero() {
            return bad("sweep_interval must be > 0".into());
        }
        let mut names = std::collections::HashSet::new();
        let mut paths = std::collections::HashSet::new();
        for (i, api) in self.apis.iter().enumerate() {
            if api.name.is_empty() || !names.insert(api.name.as_str()) {
                return bad(format!(
                    "apis[{i}].name \"{}\" is empty or repeated",
                    api.name
                ));
            }
            if !api.path.starts_with('/')
                || api.path.starts_with("/admin")
                || api.path == TOKEN_PATH
                || matches!(api.path.as_str(), "/health" | "/metrics")
            {
                return bad(format!(
                    "apis[{i}].path \"{}\" must start with / and not clash with gateway routes",
                    api.path
                ));
            }
            if api.path.contains(['{', '}', '*']) {
                return bad(format!(
                    "apis[{i}].path \"{}\" may not contain {{ }} or *",
                    api.path
                ));
            }
            if api.methods.is_empty() {
                return bad(format!("apis[{i}].methods is empty"));
            }
            for m in &api.methods {
                if !matches!(
                    m.as_str(),
                    "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD"
                ) {
                    return bad(format!("apis[{i}].methods: unsupported method \"{m}\""));
                }
                if !paths.insert((api.path.as_str(), m.as_str())) {
                    return bad(format!("apis[{i}]: {m} {} is declared twice", api.path));
                }
            }
            if let Some(r) = &api.response
                && (http::StatusCode::from_u16(r.status).is_err() || r.status < 200)
            {
                return bad(format!("apis[{i}].response.status {} is invalid", r.status));
            }
        }
        for (id, c) in &self.clients {
            if id.is_empty() {
                return bad("clients: empty client id".into());
            }
            for api in &c.apis {
                if !self.apis.iter().any(|a| &a.name == api) {
                    return bad(format!("clients.{id}.apis: unknown api \"{api}\""));
                }
            }
            if self.load_certificates(id, c)?.is_empty() {
                return bad(format!("clients.{id}: no certificate"));
            }
        }
        for (route, f) in &self.faults {
            if route != "*" && route != "token" && !self.apis.iter().any(|a| &a.name == route) {
                return bad(format!("faults.{route}: not `token`, `*` or an api name"));
            }
            f.validate()
                .map_err(|m| Error::Config(format!("faults.{route}: {m}")))?;
        }
        if let Some(t) = &self.tls {
            if !t.self_signed && (t.cert.is_none() || t.key.is_none()) {
                return bad("tls: set cert and key, or self_signed: true".into());
            }
            if t.self_signed && (t.cert.is_some() || t.key.is_some()) {
                return bad("tls: self_signed excludes cert and key".into());
            }
            if t.client_cert_required && t.client_ca.is_none() {
                return bad("tls.client_cert_required needs tls.client_ca".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The documented example parses; unknown fields are refused with a position.
    #[test]
    fn yaml_round() {
        let c = GatewayConfig::from_yaml_str(
            "listen: 127.0.0.1:0\nprofile: apigee\ntoken_lifetime: 2s\nfaults:\n  token: { latency: 5ms }\n",
            "gw.yaml",
        )
        .expect("parse");
        assert_eq!(c.token_lifetime, Some(Duration::from_secs(2)));
        assert_eq!(
            c.load_profile().expect("profile").access_token_lifetime,
            Duration::from_secs(2)
        );
        c.validate().expect("valid");
        let e = GatewayConfig::from_yaml_str("listen: 127.0.0.1:0\nbogus: 1\n", "gw.yaml")
            .expect_err("unknown");
        assert!(e.to_string().contains("gw.yaml:2:"), "{e}");
    }

    // Unknown APIs, bad paths and missing certificates name the field.
    #[test]
    fn validation_names_fields() {
        let mut c = GatewayConfig::default();
        c.clients.insert(
            "a".into(),
            ClientConfig {
                apis: vec!["nope".into()],
                ..Default::default()
            },
        );
        assert!(
            c.validate()
                .expect_err("api")
                .to_string()
                .contains("clients.a.apis")
        );
        let mut c = GatewayConfig::default();
        c.clients.insert("a".into(), ClientConfig::default());
        assert!(
            c.validate()
                .expect_err("cert")
                .to_string()
                .contains("no certificate")
        );
        let mut c = GatewayConfig::default();
        c.apis[0].path = "/oauth/token".into();
        assert!(
            c.validate()
                .expect_err("path")
                .to_string()
                .contains("apis[0].path")
        );
        let mut c = GatewayConfig::default();
        c.clients.insert(
            "a".into(),
            ClientConfig {
                certificates: vec!["not-a-cert".into()],
                ..Default::default()
            },
        );
        assert!(
            c.validate()
                .expect_err("bad")
                .to_string()
                .contains("certificates[0]")
        );
    }
}
