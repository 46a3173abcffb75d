//! A target named only by command-line values and environment (no target file): what it
//! needs, and the target built from them.

use crate::{Target, TargetOverrides};

/// A value a target without a file cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingValue {
    /// The token URL (or an audience URL standing in for it).
    TokenUrl,
    /// The client id.
    ClientId,
    /// The private key.
    PrivateKey,
}

impl Target {
    /// The target made of `o` alone; `bearing sign --aud URL` needs no token URL, the
    /// audience stands in. The overrides are not yet applied (see [`Target::apply`]).
    ///
    /// # Errors
    /// The first [`MissingValue`].
    pub fn from_overrides(o: &TargetOverrides) -> Result<Self, MissingValue> {
        Ok(Self {
            token_url: o
                .token_url
                .clone()
                .or_else(|| o.audience.as_deref().and_then(|a| a.parse().ok()))
                .ok_or(MissingValue::TokenUrl)?,
            audience: None,
            client_id: o.client_id.clone().ok_or(MissingValue::ClientId)?,
            private_key: o.private_key.clone().ok_or(MissingValue::PrivateKey)?,
            certificate: None,
            profile: None,
            apis: Vec::new(),
            tls: Default::default(),
            assertion: Default::default(),
            http2: false,
            admin_url: None,
            admin_secret: None,
            identities: Vec::new(),
            identities_dir: None,
            fleet: Vec::new(),
            origin: None,
        })
    }
}
