//! The plugin port: the provider serves only the client that presents the certificate Terraform
//! passed it in `PLUGIN_CLIENT_CERT` (and holds its key). The provider binary is started as
//! Terraform starts it; clients with no certificate, with another certificate, or in plaintext
//! are refused before any gRPC service answers, and the expected client is served. That
//! Terraform itself (its P-521 certificate) still works is what every other end-to-end test
//! shows.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rcgen::KeyPair;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::plugin::{identity, Identity, Plugin};

/// The provider started as Terraform starts it, offering protocol 6, and the address it serves.
fn start_provider(client_cert_pem: &str) -> (Plugin, String) {
    let plugin = support::plugin::start(
        Path::new(env!("CARGO_BIN_EXE_terraform-provider-restate")),
        "6",
        client_cert_pem,
    );
    let fields = plugin.fields();
    assert_eq!(fields.len(), 6, "handshake line: {:?}", plugin.handshake);
    assert_eq!(&fields[..3], &["1", "6", "tcp"], "{:?}", plugin.handshake);
    let server_cert = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(fields[5])
        .expect("server certificate in the handshake");
    assert!(
        !server_cert.is_empty(),
        "the provider served without TLS: {:?}",
        plugin.handshake
    );
    let address = fields[3].to_string();
    (plugin, address)
}

/// This test checks client authentication only: any server certificate will do.
#[derive(Debug)]
struct AnyServer;

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[derive(Debug)]
struct Presents(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Presents {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Whether the server answers an HTTP/2 connection with its SETTINGS frame: served.
async fn served<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) -> bool {
    if s.write_all(H2_PREFACE).await.is_err() || s.flush().await.is_err() {
        return false;
    }
    let mut frame = [0u8; 9];
    match tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut frame)).await {
        // Frame type 4 = SETTINGS.
        Ok(Ok(_)) => frame[3] == 4,
        _ => false,
    }
}

/// A TLS client presenting `client` (or nothing).
async fn tls_client_served(address: &str, client: Option<&Identity>) -> bool {
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(AnyServer));
    let mut config = match client {
        // Certificate and key as given, even when they do not belong together (the impostor).
        Some(id) => {
            let key = PrivateKeyDer::try_from(id.key.serialize_der()).expect("key");
            let signer = rustls::crypto::ring::sign::any_supported_type(&key).expect("signer");
            let certified = rustls::sign::CertifiedKey::new(vec![id.der.clone()], signer);
            builder.with_client_cert_resolver(Arc::new(Presents(Arc::new(certified))))
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(address).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    match tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
    {
        Ok(tls) => served(tls).await,
        Err(_) => false,
    }
}

#[tokio::test]
async fn only_the_client_terraform_named_is_served() {
    let terraform = identity();
    let someone_else = identity();
    let (_provider, address) = start_provider(&terraform.pem);

    assert!(
        !tls_client_served(&address, None).await,
        "a client without a certificate was served"
    );
    assert!(
        tls_client_served(&address, Some(&terraform)).await,
        "the client with Terraform's certificate was not served"
    );
    assert!(
        !tls_client_served(&address, Some(&someone_else)).await,
        "a client with another certificate was served"
    );
    let plain = TcpStream::connect(&address).await.expect("connect");
    assert!(!served(plain).await, "a plaintext client was served");
    // The provider still serves Terraform's client after refusing the others.
    assert!(tls_client_served(&address, Some(&terraform)).await);
}

/// A client that presents Terraform's certificate without holding its key cannot pass either:
/// the handshake signature is checked against the pinned certificate's key.
#[tokio::test]
async fn terraforms_certificate_without_its_key_is_refused() {
    let terraform = identity();
    let impostor = Identity {
        pem: terraform.pem.clone(),
        der: terraform.der.clone(),
        key: KeyPair::generate().expect("key"),
    };
    let (_provider, address) = start_provider(&terraform.pem);
    assert!(!tls_client_served(&address, Some(&impostor)).await);
    assert!(tls_client_served(&address, Some(&terraform)).await);
}
