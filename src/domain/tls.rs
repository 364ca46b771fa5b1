//! A node's `[tls]` section (Restate 1.7.3 and later): its modes, and the combinations the server
//! refuses at start-up or that leave peers unable to connect, checked before a node is rendered.
//! Checked against Restate's source at v1.7.6 (`FabricTlsOptions::validate`,
//! `validate_advertised_address`).

use std::fmt;

use super::error::Error;
use super::version::Version;

/// `[tls] mode`: rolled forward one step at a time across a cluster, `off` → `allow` →
/// `prefer` → `require`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS; the section may be staged on every node first.
    Off,
    /// Certificates loaded; TLS and plaintext accepted; a plaintext address advertised.
    Allow,
    /// TLS and plaintext accepted; an `https://` address advertised.
    Prefer,
    /// Only TLS accepted.
    Require,
}

impl TlsMode {
    pub const ALL: [TlsMode; 4] = [
        TlsMode::Off,
        TlsMode::Allow,
        TlsMode::Prefer,
        TlsMode::Require,
    ];

    pub fn parse(text: &str) -> Result<TlsMode, Error> {
        TlsMode::ALL
            .into_iter()
            .find(|m| m.as_str() == text)
            .ok_or_else(|| {
                Error::FabricTls(format!(
                    "\"{text}\" is not a TLS mode; use one of off, allow, prefer, require"
                ))
            })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            TlsMode::Off => "off",
            TlsMode::Allow => "allow",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values of a `[tls]` section that the rules look at; None = not known yet.
pub struct FabricTlsSettings<'a> {
    pub mode: Option<TlsMode>,
    pub require_client_auth: Option<bool>,
    pub allowed_subject_names: Option<&'a [String]>,
    pub advertised_address: Option<&'a str>,
}

/// What a node with these settings would refuse, or what would leave its peers unable to
/// connect, each with the attribute it is about.
pub fn fabric_tls(version: &Version, s: &FabricTlsSettings) -> Vec<(&'static str, Error)> {
    let mut out = Vec::new();
    if !version.has_fabric_tls() {
        out.push((
            "mode",
            Error::FabricTls(format!(
                "Restate {version} has no [tls] section (it came in 1.7.3); set restate_version to \
                 1.7.3 or later, after upgrading the nodes"
            )),
        ));
        return out;
    }
    if s.require_client_auth == Some(true) && s.allowed_subject_names.is_some_and(<[_]>::is_empty) {
        out.push((
            "require_client_auth",
            Error::FabricTls(
                "require_client_auth = true needs allowed_subject_names (the node refuses to start \
                 without them): the subject patterns of peer certificates to accept, for example \
                 [\"restate-*\"], or [\"*\"] for any certificate the CA signed"
                    .into(),
            ),
        ));
    }
    let https = s.advertised_address.map(|a| a.starts_with("https://"));
    match (s.mode, https) {
        (Some(TlsMode::Require), Some(false)) => out.push((
            "mode",
            Error::FabricTls(
                "mode \"require\" needs an https:// advertised_address (the node refuses to start \
                 with a plaintext one)"
                    .into(),
            ),
        )),
        (Some(TlsMode::Off), Some(true)) => out.push((
            "mode",
            Error::FabricTls(
                "mode \"off\" accepts no TLS, but advertised_address is https://: peers could not \
                 connect; advertise http:// until mode is prefer"
                    .into(),
            ),
        )),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings<'a>(
        mode: TlsMode,
        auth: bool,
        names: &'a [String],
        address: &'a str,
    ) -> FabricTlsSettings<'a> {
        FabricTlsSettings {
            mode: Some(mode),
            require_client_auth: Some(auth),
            allowed_subject_names: Some(names),
            advertised_address: Some(address),
        }
    }

    #[test]
    fn what_the_server_refuses_is_refused_first() {
        let v = Version::parse("1.7.12").unwrap();
        let any = vec!["*".to_string()];
        assert!(fabric_tls(
            &v,
            &settings(TlsMode::Require, true, &any, "https://n1:5122")
        )
        .is_empty());
        let e = fabric_tls(
            &v,
            &settings(TlsMode::Require, true, &[], "https://n1:5122"),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, "require_client_auth");
        let e = fabric_tls(
            &v,
            &settings(TlsMode::Require, false, &[], "http://n1:5122"),
        );
        assert_eq!(e[0].0, "mode");
        assert!(e[0].1.to_string().contains("https://"), "{}", e[0].1);
        assert!(!fabric_tls(&v, &settings(TlsMode::Off, false, &[], "https://n1:5122")).is_empty());
        assert!(fabric_tls(&v, &settings(TlsMode::Allow, false, &[], "http://n1:5122")).is_empty());
        for old in ["1.7.2", "1.6.2"] {
            let e = fabric_tls(
                &Version::parse(old).unwrap(),
                &settings(TlsMode::Allow, false, &[], "http://n1:5122"),
            );
            assert!(e[0].1.to_string().contains("1.7.3"), "{}", e[0].1);
        }
        assert!(TlsMode::parse("strict").is_err());
        assert_eq!(TlsMode::parse("prefer"), Ok(TlsMode::Prefer));
    }
}
