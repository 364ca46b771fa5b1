//! TLS to nodes whose fabric port has a `[tls]` section (Restate 1.7.3 and later): what to trust
//! and which client certificate to present on `https://` endpoints; and why a connection failed,
//! told from the error's type (or, for plaintext to a TLS-only node, from one probe), so the
//! operator learns the cause at once instead of after a retry window.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// A client certificate (PEM, leaf first) and its private key (PEM).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key never reaches a log line.
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &format_args!("(sensitive)"))
            .finish()
    }
}

/// How `https://` endpoints are dialed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificates of the CAs that sign the nodes' certificates; None = the machine's CA
    /// bundle (`SSL_CERT_FILE`, else the usual system paths).
    pub ca_pem: Option<String>,
    /// Presented to nodes with `require-client-auth = true`.
    pub identity: Option<ClientIdentity>,
    /// The name the nodes' certificates must carry, instead of the endpoint's host.
    pub server_name: Option<String>,
}

/// Settings that cannot work, found before anything is dialed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the CA certificates hold no PEM certificate (\"-----BEGIN CERTIFICATE-----\")")]
    NoCaCertificate,
    #[error("the client certificate holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")")]
    NoClientCertificate,
    #[error("the client key holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\", or an RSA or EC key)")]
    NoClientKey,
    #[error("\"{0}\" is not a valid server name")]
    ServerName(String),
}

/// Why a TLS connection to a node failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TlsProblem {
    #[error("the node's certificate is not signed by a trusted CA ({0})")]
    UntrustedCertificate(String),
    #[error("the node's certificate is not valid for the name dialed ({0})")]
    NameMismatch(String),
    #[error("the node's certificate is not valid ({0})")]
    InvalidCertificate(String),
    #[error("the node requires a client certificate (require-client-auth) and none was presented")]
    ClientCertificateRequired,
    #[error("the node refused the client certificate ({0})")]
    ClientCertificateRejected(String),
    #[error("the node does not speak TLS on this port (it answered in plaintext)")]
    NotTls,
    #[error("the node accepts only TLS on this port (its [tls] mode is \"require\"), but the endpoint is http://")]
    TlsOnly,
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

impl TlsSettings {
    /// Checks that every PEM value holds what it should.
    pub fn check(&self) -> Result<(), SettingsError> {
        if let Some(ca) = &self.ca_pem {
            if count_certs(ca) == 0 {
                return Err(SettingsError::NoCaCertificate);
            }
        }
        if let Some(id) = &self.identity {
            if count_certs(&id.cert_pem) == 0 {
                return Err(SettingsError::NoClientCertificate);
            }
            if !matches!(
                rustls_pemfile::private_key(&mut id.key_pem.as_bytes()),
                Ok(Some(_))
            ) {
                return Err(SettingsError::NoClientKey);
            }
        }
        if let Some(name) = &self.server_name {
            if ServerName::try_from(name.as_str()).is_err() {
                return Err(SettingsError::ServerName(name.clone()));
            }
        }
        Ok(())
    }

    /// tonic's configuration for one `https://` endpoint.
    pub(crate) fn client_config(&self) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = self.ca_pem.clone().or_else(system_ca_bundle) {
            config = config.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some(id) = &self.identity {
            config = config.identity(Identity::from_pem(&id.cert_pem, &id.key_pem));
        }
        if let Some(name) = &self.server_name {
            config = config.domain_name(name.clone());
        }
        config
    }
}

fn count_certs(pem: &str) -> usize {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .filter(Result::is_ok)
        .count()
}

/// The machine's CA bundle, where OpenSSL-based tools look for it.
fn system_ca_bundle() -> Option<String> {
    let from_env = std::env::var("SSL_CERT_FILE").ok();
    from_env
        .into_iter()
        .chain(
            [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/cert.pem",
            ]
            .map(String::from),
        )
        .find_map(|path| std::fs::read_to_string(path).ok())
        .filter(|pem| count_certs(pem) > 0)
}

/// The TLS cause of a failed call, from the types in its error chain.
pub(crate) fn problem_in(
    err: &(dyn std::error::Error + 'static),
    presented_identity: bool,
) -> Option<TlsProblem> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(classify(r, presented_identity));
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(classify(r, presented_identity));
            }
        }
        next = e.source();
    }
    None
}

fn classify(e: &rustls::Error, presented_identity: bool) -> TlsProblem {
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer
            | CertificateError::BadSignature
            | CertificateError::UnknownRevocationStatus => {
                TlsProblem::UntrustedCertificate(format!("{c:?}"))
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsProblem::NameMismatch(e.to_string())
            }
            _ => TlsProblem::InvalidCertificate(e.to_string()),
        },
        E::AlertReceived(AlertDescription::CertificateRequired) => {
            TlsProblem::ClientCertificateRequired
        }
        E::AlertReceived(
            a @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied
            | AlertDescription::CertificateExpired
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::HandshakeFailure),
        ) => {
            if presented_identity {
                TlsProblem::ClientCertificateRejected(format!("alert {a:?}"))
            } else {
                TlsProblem::ClientCertificateRequired
            }
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => TlsProblem::NotTls,
        other => TlsProblem::Handshake(other.to_string()),
    }
}

/// Whether the call failed before a connection was open (refused, timed out): then the node is
/// down or unreachable, and a TLS probe would say nothing.
pub(crate) fn never_connected(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused | ErrorKind::TimedOut | ErrorKind::AddrNotAvailable
            ) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// Whether the node at `host:port` answers a TLS handshake: asked once after a plaintext call
/// failed on an open connection, to tell "this node accepts only TLS" from a node that crashed.
/// Nothing but a ClientHello is sent; the handshake stops at the node's certificate.
pub(crate) async fn speaks_tls(host: &str, port: u16, within: Duration) -> bool {
    let saw = Arc::new(SawCertificate::default());
    let Ok(provider) = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions() else {
        return false;
    };
    let config = provider
        .dangerous()
        .with_custom_certificate_verifier(saw.clone())
        .with_no_client_auth();
    let Ok(name) = ServerName::try_from(host.trim_matches(|c| c == '[' || c == ']').to_string())
    else {
        return false;
    };
    let probe = async {
        let tcp =
            tokio::net::TcpStream::connect((host.trim_matches(|c| c == '[' || c == ']'), port))
                .await
                .ok()?;
        let _ = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await;
        Some(())
    };
    let _ = tokio::time::timeout(within, probe).await;
    saw.0.load(Ordering::Relaxed)
}

/// Why a TLS connection with these settings fails, found by making one and reading from it: a
/// node that refuses the client's certificate (or its absence) says so in an alert after the
/// handshake, which a failed call may not have read before the connection closed.
pub(crate) async fn handshake_problem(
    settings: &TlsSettings,
    host: &str,
    port: u16,
    within: Duration,
) -> Option<TlsProblem> {
    use tokio::io::AsyncReadExt;
    let host = host.trim_matches(|c| c == '[' || c == ']');
    let mut roots = rustls::RootCertStore::empty();
    let ca = settings.ca_pem.clone().or_else(system_ca_bundle)?;
    for cert in rustls_pemfile::certs(&mut ca.as_bytes()).flatten() {
        roots.add(cert).ok()?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .with_root_certificates(roots);
    let config = match &settings.identity {
        Some(id) => {
            let certs = rustls_pemfile::certs(&mut id.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .ok()?;
            let key = rustls_pemfile::private_key(&mut id.key_pem.as_bytes()).ok()??;
            builder.with_client_auth_cert(certs, key).ok()?
        }
        None => builder.with_no_client_auth(),
    };
    let name = settings.server_name.as_deref().unwrap_or(host).to_string();
    let name = ServerName::try_from(name).ok()?;
    let presented = settings.identity.is_some();
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        let mut tls = match tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
        {
            Ok(tls) => tls,
            Err(e) => return problem_in(&e, presented),
        };
        // A refusal of the client's certificate comes as the first thing the node sends.
        let mut buf = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(500), tls.read(&mut buf)).await {
            Ok(Err(e)) => problem_in(&e, presented),
            _ => None,
        }
    };
    tokio::time::timeout(within, attempt).await.ok().flatten()
}

/// A verifier that only notes that the node sent a certificate, and then ends the handshake.
#[derive(Debug, Default)]
struct SawCertificate(AtomicBool);

impl ServerCertVerifier for SawCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0.store(true, Ordering::Relaxed);
        Err(rustls::Error::General("probe only".into()))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("probe only".into()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("probe only".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_values_are_checked() {
        let none = TlsSettings::default();
        assert_eq!(none.check(), Ok(()));
        let bad_ca = TlsSettings {
            ca_pem: Some("not a pem".into()),
            ..TlsSettings::default()
        };
        assert_eq!(bad_ca.check(), Err(SettingsError::NoCaCertificate));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let good = TlsSettings {
            ca_pem: Some(cert.pem()),
            identity: Some(ClientIdentity {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            }),
            server_name: Some("restate.internal".into()),
        };
        assert_eq!(good.check(), Ok(()));
        let no_key = TlsSettings {
            identity: Some(ClientIdentity {
                cert_pem: cert.pem(),
                key_pem: cert.pem(),
            }),
            ..TlsSettings::default()
        };
        assert_eq!(no_key.check(), Err(SettingsError::NoClientKey));
        let no_cert = TlsSettings {
            identity: Some(ClientIdentity {
                cert_pem: key.serialize_pem(),
                key_pem: key.serialize_pem(),
            }),
            ..TlsSettings::default()
        };
        assert_eq!(no_cert.check(), Err(SettingsError::NoClientCertificate));
        assert!(!format!("{:?}", good).contains("PRIVATE KEY"));
    }

    #[test]
    fn handshake_errors_are_told_apart_by_type() {
        let untrusted = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, untrusted);
        assert!(matches!(
            problem_in(&io, false),
            Some(TlsProblem::UntrustedCertificate(_))
        ));
        let required = rustls::Error::AlertReceived(AlertDescription::CertificateRequired);
        assert_eq!(
            problem_in(&required, false),
            Some(TlsProblem::ClientCertificateRequired)
        );
        let refused = rustls::Error::AlertReceived(AlertDescription::UnknownCA);
        assert!(matches!(
            problem_in(&refused, true),
            Some(TlsProblem::ClientCertificateRejected(_))
        ));
        let plain = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        assert_eq!(problem_in(&plain, false), Some(TlsProblem::NotTls));
        let other = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(problem_in(&other, false), None);
    }
}
