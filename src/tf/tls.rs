//! The provider's `tls` block: how `https://` endpoints are dialed (CA, client certificate and
//! key for mTLS, server name), each value from the block, else its environment variable.

use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, NestedBlock};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use super::schema::{block, optional, sensitive};
use crate::client::{ClientIdentity, TlsSettings};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsBlock {
    pub ca_cert: Value<String>,
    pub ca_cert_file: Value<String>,
    pub client_cert: Value<String>,
    pub client_cert_file: Value<String>,
    pub client_key: Value<String>,
    pub client_key_file: Value<String>,
    pub server_name: Value<String>,
}

/// A PEM value given inline or as a file, and where each comes from.
struct Pem {
    inline: &'static str,
    file: &'static str,
}

const CA: Pem = Pem {
    inline: "ca_cert",
    file: "ca_cert_file",
};
const CERT: Pem = Pem {
    inline: "client_cert",
    file: "client_cert_file",
};
const KEY: Pem = Pem {
    inline: "client_key",
    file: "client_key_file",
};

fn env_name(attribute: &str) -> String {
    format!("RESTATE_TLS_{}", attribute.to_ascii_uppercase())
}

/// Why the TLS settings cannot be used; names the attribute (or its environment variable).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsSettingsError {
    #[error("tls: set {inline} or {file}, not both")]
    Both {
        inline: &'static str,
        file: &'static str,
    },
    #[error("tls: {given} is set but {missing} is not; a client certificate needs its key and the other way round")]
    Unpaired {
        given: &'static str,
        missing: &'static str,
    },
    #[error("tls.{attribute} (or RESTATE_TLS_{}): cannot read {path:?}: {reason}", attribute.to_ascii_uppercase())]
    Unreadable {
        attribute: &'static str,
        path: String,
        reason: String,
    },
    #[error("tls: {0}")]
    Invalid(String),
    #[error("tls.{0} is not known yet (it comes from a resource that does not exist yet)")]
    Unknown(&'static str),
}

impl TlsSettingsError {
    /// The attribute to point at, when the value came from the configuration.
    pub fn attribute(&self) -> Option<&'static str> {
        match self {
            TlsSettingsError::Both { inline, .. } => Some(inline),
            TlsSettingsError::Unpaired { given, .. } => Some(given),
            TlsSettingsError::Unreadable { attribute, .. } => Some(attribute),
            TlsSettingsError::Unknown(a) => Some(a),
            TlsSettingsError::Invalid(_) => None,
        }
    }
}

impl TlsBlock {
    fn get(&self, attribute: &str) -> &Value<String> {
        match attribute {
            "ca_cert" => &self.ca_cert,
            "ca_cert_file" => &self.ca_cert_file,
            "client_cert" => &self.client_cert,
            "client_cert_file" => &self.client_cert_file,
            "client_key" => &self.client_key,
            "client_key_file" => &self.client_key_file,
            _ => &self.server_name,
        }
    }
}

/// One value: the attribute, or (with `env`) its environment variable. Empty strings count as
/// unset.
fn lookup(
    block: Option<&TlsBlock>,
    attribute: &'static str,
    env: bool,
) -> Result<Option<String>, TlsSettingsError> {
    match block.map(|b| b.get(attribute)) {
        Some(Value::Value(v)) if !v.is_empty() => Ok(Some(v.clone())),
        Some(Value::Unknown) => Err(TlsSettingsError::Unknown(attribute)),
        _ if env => Ok(std::env::var(env_name(attribute))
            .ok()
            .filter(|v| !v.is_empty())),
        _ => Ok(None),
    }
}

fn read_pem(block: Option<&TlsBlock>, pem: &Pem) -> Result<Option<String>, TlsSettingsError> {
    let in_block = |a: &str| {
        block
            .map(|b| !matches!(b.get(a), Value::Null))
            .unwrap_or(false)
    };
    // The block's values win over the environment's, as a pair.
    let from_block = in_block(pem.inline) || in_block(pem.file);
    let inline = lookup(block, pem.inline, !from_block)?;
    let file = lookup(block, pem.file, !from_block)?;
    match (inline, file) {
        (Some(_), Some(_)) => Err(TlsSettingsError::Both {
            inline: pem.inline,
            file: pem.file,
        }),
        (Some(text), None) => Ok(Some(text)),
        (None, Some(path)) => {
            std::fs::read_to_string(&path)
                .map(Some)
                .map_err(|e| TlsSettingsError::Unreadable {
                    attribute: pem.file,
                    path,
                    reason: e.to_string(),
                })
        }
        (None, None) => Ok(None),
    }
}

/// The settings from the block (None when absent) and the environment.
pub fn resolve(block: Option<&TlsBlock>) -> Result<TlsSettings, TlsSettingsError> {
    let ca_pem = read_pem(block, &CA)?;
    let cert = read_pem(block, &CERT)?;
    let key = read_pem(block, &KEY)?;
    let identity = match (cert, key) {
        (Some(cert_pem), Some(key_pem)) => Some(ClientIdentity { cert_pem, key_pem }),
        (Some(_), None) => {
            return Err(TlsSettingsError::Unpaired {
                given: "client_cert",
                missing: "client_key",
            })
        }
        (None, Some(_)) => {
            return Err(TlsSettingsError::Unpaired {
                given: "client_key",
                missing: "client_cert",
            })
        }
        (None, None) => None,
    };
    let server_name = lookup(block, "server_name", true)?;
    let settings = TlsSettings {
        ca_pem,
        identity,
        server_name,
    };
    settings
        .check()
        .map_err(|e| TlsSettingsError::Invalid(e.to_string()))?;
    Ok(settings)
}

/// Plan-time checks of the values written in the block (files are read at configure).
pub fn validate(diags: &mut Diagnostics, block: &TlsBlock) {
    let at = |a: &'static str| AttributePath::new("tls").index(0).attribute(a);
    for pem in [&CA, &CERT, &KEY] {
        if let (Value::Value(_), Value::Value(_)) = (block.get(pem.inline), block.get(pem.file)) {
            diags.error(
                "Conflicting TLS settings",
                format!(
                    "Set {} (PEM content) or {} (a path), not both.",
                    pem.inline, pem.file
                ),
                at(pem.inline),
            );
        }
    }
    // The attribute of the pair that is set, if any.
    let set = |p: &Pem| {
        [p.inline, p.file]
            .into_iter()
            .find(|a| !matches!(block.get(a), Value::Null))
    };
    if set(&CERT).is_some() != set(&KEY).is_some() {
        let (given, missing) = match (set(&CERT), set(&KEY)) {
            (Some(given), _) => (given, "client_key"),
            (_, Some(given)) => (given, "client_cert"),
            _ => return,
        };
        diags.error(
            "Incomplete client certificate",
            format!(
                "{given} is set but {missing} (or {missing}_file) is not: mTLS needs both the \
                 certificate and its key."
            ),
            at(given),
        );
    }
    // Files named in the block are on this machine: read them now.
    for pem in [&CA, &CERT, &KEY] {
        if let Value::Value(path) = block.get(pem.file) {
            if let Err(e) = std::fs::read_to_string(path) {
                let e = TlsSettingsError::Unreadable {
                    attribute: pem.file,
                    path: path.clone(),
                    reason: e.to_string(),
                };
                diags.error("Invalid provider TLS settings", e.to_string(), at(pem.file));
            }
        }
    }
    // Inline PEM values that are known now are checked now.
    if let (Value::Value(ca), Value::Null) = (&block.ca_cert, &block.ca_cert_file) {
        let probe = TlsSettings {
            ca_pem: Some(ca.clone()),
            ..TlsSettings::default()
        };
        if let Err(e) = probe.check() {
            diags.error(
                "Invalid CA certificate",
                format!(
                    "{e}. Give the PEM content (for example file(\"ca.pem\")) or use ca_cert_file."
                ),
                at("ca_cert"),
            );
        }
    }
    if let (Value::Value(cert), Value::Value(key)) = (&block.client_cert, &block.client_key) {
        let probe = TlsSettings {
            identity: Some(ClientIdentity {
                cert_pem: cert.clone(),
                key_pem: key.clone(),
            }),
            ..TlsSettings::default()
        };
        if let Err(e) = probe.check() {
            let attribute = if matches!(e, crate::client::tls::SettingsError::NoClientKey) {
                "client_key"
            } else {
                "client_cert"
            };
            diags.error(
                "Invalid client certificate",
                format!("{e}. Give the PEM content (for example file(\"client.pem\"))."),
                at(attribute),
            );
        }
    }
    if let Value::Value(name) = &block.server_name {
        let probe = TlsSettings {
            server_name: Some(name.clone()),
            ..TlsSettings::default()
        };
        if let Err(e) = probe.check() {
            diags.error(
                "Invalid server name",
                format!("{e}: give a DNS name or an IP address the nodes' certificates carry."),
                at("server_name"),
            );
        }
    }
}

pub fn tls_block() -> NestedBlock {
    use AttributeType::String as Str;
    let described =
        |attribute: &str, text: &str| format!("{text} Default: `{}`.", env_name(attribute));
    NestedBlock::Optional(block(
        "TLS for `https://` endpoints, to nodes whose `[tls]` mode is `prefer` or `require` \
         (Restate 1.7.3 and later). Each value may come from its environment variable instead; \
         values set in the block win, pair by pair.",
        vec![
            (
                "ca_cert",
                optional(
                    Str,
                    &described(
                        "ca_cert",
                        "PEM certificates of the CAs that sign the nodes' certificates (the nodes' \
                         `ca-files`). Without it, the machine's CA bundle is used. Excludes \
                         `ca_cert_file`.",
                    ),
                ),
            ),
            (
                "ca_cert_file",
                optional(
                    Str,
                    &described("ca_cert_file", "Path of a PEM file with the CA certificates."),
                ),
            ),
            (
                "client_cert",
                optional(
                    Str,
                    &described(
                        "client_cert",
                        "PEM client certificate, presented to nodes with `require-client-auth = \
                         true`; its subject must match their `allowed-subject-names`. Needs \
                         `client_key`.",
                    ),
                ),
            ),
            (
                "client_cert_file",
                optional(
                    Str,
                    &described("client_cert_file", "Path of the PEM client certificate."),
                ),
            ),
            (
                "client_key",
                sensitive(optional(
                    Str,
                    &described("client_key", "PEM private key of the client certificate."),
                )),
            ),
            (
                "client_key_file",
                optional(
                    Str,
                    &described("client_key_file", "Path of the PEM private key."),
                ),
            ),
            (
                "server_name",
                optional(
                    Str,
                    &described(
                        "server_name",
                        "The name the nodes' certificates must carry, when it is not the \
                         endpoints' host (for example endpoints by IP, certificates by DNS name).",
                    ),
                ),
            ),
        ],
        vec![],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_pair() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// Held by the tests that resolve settings: one of them sets the variables the others read.
    static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn each_value_may_come_from_its_environment_variable() {
        let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
        let (cert, key) = pem_pair();
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("client.key");
        std::fs::write(&key_file, &key).unwrap();
        // Only this test sets these variables.
        std::env::set_var("RESTATE_TLS_CA_CERT", &cert);
        std::env::set_var("RESTATE_TLS_CLIENT_CERT", &cert);
        std::env::set_var(
            "RESTATE_TLS_CLIENT_KEY_FILE",
            key_file.display().to_string(),
        );
        std::env::set_var("RESTATE_TLS_SERVER_NAME", "restate.internal");
        let s = resolve(None).unwrap();
        assert_eq!(s.ca_pem.as_deref(), Some(cert.as_str()));
        assert_eq!(
            s.identity.as_ref().map(|i| i.key_pem.as_str()),
            Some(key.as_str())
        );
        assert_eq!(s.server_name.as_deref(), Some("restate.internal"));
        // A pair set in the block wins over its variables; the other pairs still come from them.
        let block = TlsBlock {
            ca_cert_file: Value::Value(key_file.display().to_string()),
            ..TlsBlock::default()
        };
        assert!(matches!(
            resolve(Some(&block)),
            Err(TlsSettingsError::Invalid(_))
        ));
        let block = TlsBlock {
            client_cert: Value::Value(cert.clone()),
            client_key: Value::Value(key.clone()),
            ..TlsBlock::default()
        };
        assert_eq!(
            resolve(Some(&block)).unwrap().ca_pem.as_deref(),
            Some(cert.as_str())
        );
        for v in [
            "RESTATE_TLS_CA_CERT",
            "RESTATE_TLS_CLIENT_CERT",
            "RESTATE_TLS_CLIENT_KEY_FILE",
            "RESTATE_TLS_SERVER_NAME",
        ] {
            std::env::remove_var(v);
        }
    }

    #[test]
    fn block_values_are_resolved_and_checked() {
        let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
        let (cert, key) = pem_pair();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &cert).unwrap();
        let block = TlsBlock {
            ca_cert_file: Value::Value(ca_file.display().to_string()),
            client_cert: Value::Value(cert.clone()),
            client_key: Value::Value(key.clone()),
            ..TlsBlock::default()
        };
        let s = resolve(Some(&block)).unwrap();
        assert_eq!(s.ca_pem.as_deref(), Some(cert.as_str()));
        assert_eq!(s.identity.unwrap().key_pem, key);

        let both = TlsBlock {
            ca_cert: Value::Value(cert.clone()),
            ca_cert_file: Value::Value("/x".into()),
            ..TlsBlock::default()
        };
        assert_eq!(
            resolve(Some(&both)),
            Err(TlsSettingsError::Both {
                inline: "ca_cert",
                file: "ca_cert_file"
            })
        );
        let unpaired = TlsBlock {
            client_cert: Value::Value(cert.clone()),
            ..TlsBlock::default()
        };
        assert!(matches!(
            resolve(Some(&unpaired)),
            Err(TlsSettingsError::Unpaired { .. })
        ));
        let missing = TlsBlock {
            ca_cert_file: Value::Value(dir.path().join("nope.pem").display().to_string()),
            ..TlsBlock::default()
        };
        let e = resolve(Some(&missing)).unwrap_err();
        assert_eq!(e.attribute(), Some("ca_cert_file"));
        assert!(e.to_string().contains("nope.pem"), "{e}");

        let mut diags = Diagnostics::default();
        validate(
            &mut diags,
            &TlsBlock {
                ca_cert: Value::Value("garbage".into()),
                client_key: Value::Value(key),
                ..TlsBlock::default()
            },
        );
        let text = format!("{:?}", diags.errors);
        assert!(text.contains("Invalid CA certificate"), "{text}");
        assert!(text.contains("Incomplete client certificate"), "{text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}
