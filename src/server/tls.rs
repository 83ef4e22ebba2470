//! TLS and mutual TLS for the gRPC listener, with certificates that reload on SIGHUP.
//!
//! Why the server terminates TLS itself (tokio-rustls) instead of using tonic's
//! `ServerTlsConfig`: tonic fixes its TLS configuration when the server starts, and certificates
//! are renewed while the router runs (short-lived certificates from an internal CA are the rule
//! for service-to-service mTLS). Here the accept loop hands every new TCP connection to
//! [`Tls::accept`], which takes the *current* `rustls::ServerConfig` from an `ArcSwap`; a reload
//! builds a whole new config and swaps it in, so connections already open keep the certificate
//! they were made with and every later one gets the new one, without a restart or a dropped call.
//! A reload that fails (a key that does not match, a half-written file) swaps nothing: the old
//! certificates keep serving and the error is returned for the log, as with the rules.
//!
//! Choices:
//!
//! - **rustls with the ring provider**, the same rustls (through tokio-rustls 0.26) and provider
//!   as tonic's `tls-ring` feature uses for the `client` subcommand; aws-lc is avoided because
//!   it needs cmake and nasm to build. The provider is passed explicitly to every builder, so
//!   nothing depends on a process-wide default being installed.
//! - **ALPN `h2` only**: gRPC runs over HTTP/2; a client that offers only `http/1.1` is refused
//!   in the handshake rather than later with a confusing HTTP error.
//! - **Client certificates**: with a client CA, a certificate is *required* and verified against
//!   it (`WebPkiClientVerifier`: chain, validity period, key usage); without one, clients are
//!   not asked for a certificate (the server is authenticated, the client is not). There are no
//!   revocation lists: a client is shut out by issuing client certificates for short periods, or
//!   by replacing the client CA file and sending SIGHUP.
//! - **The client's identity** is its certificate's subject, rendered as an RFC 4514 string
//!   (`CN=intake-1,O=Hotline`) by [`peer_subject`], for the logs, the metrics and the decision
//!   records. The subject is read with **x509-parser** (rusticata; MIT/Apache-2.0, pure Rust,
//!   widely used, e.g. by rcgen): rustls verifies certificates but does not expose their names,
//!   and a hand-written DER walk is exactly the kind of parser not to write oneself. It is used
//!   with its default features (no crypto of its own); it also reads the served certificate's
//!   serial and validity for [`Tls::certificate_summary`]. Control characters in a subject are
//!   escaped, so a crafted certificate cannot forge log lines.
//! - **Precise load errors**: every error names the file and what is wrong with it (not
//!   readable, no PEM certificate, a key that does not belong to the certificate, …); nothing
//!   here panics on bad input.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;

/// The ALPN protocol gRPC needs.
pub const ALPN_H2: &[u8] = b"h2";

/// The PEM files of the server's TLS identity.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The server certificate chain (leaf first, then intermediates).
    pub cert: PathBuf,
    /// The private key of the leaf certificate (PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key: PathBuf,
    /// CA certificate(s) that client certificates must chain to. When given, clients must
    /// present a certificate (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// The server's TLS state: the files it came from and the config that new connections use.
pub struct Tls {
    files: TlsFiles,
    current: ArcSwap<Loaded>,
    /// Serializes reloads: two SIGHUPs in a row must not interleave their reads.
    reloading: Mutex<()>,
}

/// One successful load of the files.
struct Loaded {
    config: Arc<ServerConfig>,
    summary: String,
}

impl Tls {
    /// Loads and checks the PEM files; the error names the file and what is wrong (no panics).
    pub fn load(files: TlsFiles) -> Result<Arc<Tls>, String> {
        let loaded = build(&files)?;
        Ok(Arc::new(Tls {
            files,
            current: ArcSwap::from_pointee(loaded),
            reloading: Mutex::new(()),
        }))
    }

    /// Re-reads the files (on SIGHUP); on error the old certificates keep serving and the error
    /// is returned. Connections already open are not affected either way.
    pub fn reload(&self) -> Result<(), String> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let loaded = build(&self.files)?;
        self.current.store(Arc::new(loaded));
        Ok(())
    }

    /// TLS handshake on an accepted TCP connection with the current config, bounded by
    /// `timeout` (a peer that connects and sends nothing must not hold a task forever).
    pub async fn accept(
        &self,
        tcp: TcpStream,
        timeout: Duration,
    ) -> io::Result<TlsStream<TcpStream>> {
        let acceptor = TlsAcceptor::from(self.current.load().config.clone());
        match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "TLS handshake not finished within {} ms",
                    timeout.as_millis()
                ),
            )),
        }
    }

    /// Whether clients must present a certificate (a client CA was given).
    pub fn requires_client_cert(&self) -> bool {
        self.files.client_ca.is_some()
    }

    /// The files this state loads from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// The serving certificate, for the log after a load or reload:
    /// `subject CN=…, serial 0a:1b:…, valid until 2027-01-01 00:00:00 UTC, client certificates required`.
    pub fn certificate_summary(&self) -> String {
        self.current.load().summary.clone()
    }
}

/// The client certificate's subject (e.g. "CN=intake-1,O=Hotline"), if the peer sent one.
pub fn peer_subject(stream: &TlsStream<TcpStream>) -> Option<String> {
    let (_, conn) = stream.get_ref();
    let leaf = conn.peer_certificates()?.first()?;
    subject_of(leaf.as_ref())
}

/// The subject of a DER certificate as an RFC 4514 string, if it parses.
pub fn subject_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(rfc4514(cert.subject()))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks the files and builds a server config from them.
fn build(files: &TlsFiles) -> Result<Loaded, String> {
    let provider = provider();
    let chain = parse_certs(
        &files.cert,
        "certificate",
        &read_file(&files.cert, "certificate")?,
    )?;
    let key = parse_key(&files.key, "key", &read_file(&files.key, "key")?)?;
    check_pair(&files.cert, "certificate", &chain, &files.key, &key)?;
    check_dates(&files.cert, chain[0].as_ref())?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: no usable protocol version: {e}"))?;
    let builder = match &files.client_ca {
        Some(ca_path) => {
            let bytes = read_file(ca_path, "client CA")?;
            let mut roots = RootCertStore::empty();
            for (i, ca) in parse_certs(ca_path, "client CA", &bytes)?
                .into_iter()
                .enumerate()
            {
                roots.add(ca).map_err(|e| {
                    format!(
                        "TLS client CA file {}: certificate {} is not a usable CA certificate: {e}",
                        ca_path.display(),
                        i + 1
                    )
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| format!("TLS client CA file {}: {e}", ca_path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let leaf = chain[0].clone();
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        format!(
            "TLS certificate {} with key {}: {e}",
            files.cert.display(),
            files.key.display()
        )
    })?;
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    let summary = summarize(leaf.as_ref(), files.client_ca.is_some());
    Ok(Loaded {
        config: Arc::new(config),
        summary,
    })
}

/// Reads a whole file; the error names it (`what`: "certificate", "key", "client CA", …).
pub(crate) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read TLS {what} file {}: {e}", path.display()))
}

/// Every certificate in the PEM text `bytes` of `path`, each checked to be a parsable X.509
/// certificate; at least one.
pub(crate) fn parse_certs(
    path: &Path,
    what: &str,
    bytes: &[u8],
) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("TLS {what} file {}: not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "TLS {what} file {}: no certificate in it (expected a PEM block \
             -----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    for (i, c) in certs.iter().enumerate() {
        if let Err(e) = x509_parser::parse_x509_certificate(c.as_ref()) {
            return Err(format!(
                "TLS {what} file {}: certificate {} is not a valid X.509 certificate: {e}",
                path.display(),
                i + 1
            ));
        }
    }
    Ok(certs)
}

/// The first private key in the PEM text `bytes` of `path`.
pub(crate) fn parse_key(
    path: &Path,
    what: &str,
    bytes: &[u8],
) -> Result<PrivateKeyDer<'static>, String> {
    match PrivateKeyDer::from_pem_slice(bytes) {
        Ok(k) => Ok(k),
        Err(pem::Error::NoItemsFound) => Err(format!(
            "TLS {what} file {}: no private key in it (expected a PEM block \
             -----BEGIN PRIVATE KEY-----, -----BEGIN RSA PRIVATE KEY----- or \
             -----BEGIN EC PRIVATE KEY-----)",
            path.display()
        )),
        Err(e) => Err(format!(
            "TLS {what} file {}: not valid PEM: {e}",
            path.display()
        )),
    }
}

/// Checks that `key` can sign and belongs to the first certificate of `chain`, and that this
/// certificate is one TLS can use (X.509 v3). `cert_what` names the certificate file in errors
/// ("certificate", "client certificate").
pub(crate) fn check_pair(
    cert_path: &Path,
    cert_what: &str,
    chain: &[CertificateDer<'static>],
    key_path: &Path,
    key: &PrivateKeyDer<'static>,
) -> Result<(), String> {
    let signing_key = provider()
        .key_provider
        .load_private_key(key.clone_key())
        .map_err(|e| {
            format!(
                "TLS key file {}: the private key cannot be used (damaged, or a type rustls does \
                 not sign with): {e}",
                key_path.display()
            )
        })?;
    if let Some(Ok((_, leaf))) = chain
        .first()
        .map(|c| x509_parser::parse_x509_certificate(c.as_ref()))
        && leaf.version() != x509_parser::x509::X509Version::V3
    {
        return Err(format!(
            "TLS {cert_what} file {}: the certificate is X.509 version {}; TLS needs version 3 \
             (a certificate with extensions, e.g. subjectAltName: `openssl x509 -req … -extfile`)",
            cert_path.display(),
            leaf.version().0 + 1
        ));
    }
    match rustls::sign::CertifiedKey::new(chain.to_vec(), signing_key).keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(()),
        Err(rustls::Error::InconsistentKeys(_)) => Err(format!(
            "TLS key file {} does not belong to the certificate in {}",
            key_path.display(),
            cert_path.display()
        )),
        Err(e) => Err(format!(
            "TLS {cert_what} file {}: the certificate cannot be used: {e}",
            cert_path.display()
        )),
    }
}

/// The serving certificate must be valid now: an expired one (or one not yet valid) would start
/// or be reloaded without a word and then fail every client's handshake, with pods still Ready
/// on their TCP probes. Refused at start, and on SIGHUP (the old one keeps serving).
fn check_dates(cert_path: &Path, leaf: &[u8]) -> Result<(), String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(leaf) else {
        // Not reached: every certificate was parsed when the file was read.
        return Ok(());
    };
    let validity = cert.validity();
    let now = x509_parser::time::ASN1Time::now();
    if now > validity.not_after {
        return Err(format!(
            "TLS certificate file {}: the certificate expired on {}; renew it",
            cert_path.display(),
            validity.not_after
        ));
    }
    if now < validity.not_before {
        return Err(format!(
            "TLS certificate file {}: the certificate is not valid before {}; check it, and this \
             machine's clock",
            cert_path.display(),
            validity.not_before
        ));
    }
    Ok(())
}

/// `subject CN=…, serial …, valid until …[, client certificates required]`.
fn summarize(leaf: &[u8], client_auth: bool) -> String {
    let mut s = match x509_parser::parse_x509_certificate(leaf) {
        Ok((_, cert)) => format!(
            "subject {}, serial {}, valid until {}",
            rfc4514(cert.subject()),
            cert.raw_serial_as_string(),
            cert.validity().not_after
        ),
        // Not reached: every certificate was parsed when the file was read.
        Err(e) => format!("unparsable certificate: {e}"),
    };
    if client_auth {
        s.push_str(", client certificates required");
    }
    s
}

/// A distinguished name as an RFC 4514 string: the last RDN first, attributes by their short
/// names (`CN`, `O`, …; dotted OIDs for others), `+` inside a multi-valued RDN, special
/// characters escaped, and control characters as `\XX` so a subject is always one safe line.
fn rfc4514(name: &x509_parser::x509::X509Name<'_>) -> String {
    let rdns: Vec<_> = name.iter_rdn().collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attr) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let oid = attr.attr_type().to_id_string();
            out.push_str(short_name(&oid).unwrap_or(&oid));
            out.push('=');
            match attribute_text(attr) {
                Some(text) => escape_value(&text, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&hex::encode(attr.as_slice()));
                }
            }
        }
    }
    out
}

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return None,
    })
}

/// The value of a string attribute: the UTF-8 / printable / IA5 / numeric types, and BMPString
/// (UTF-16BE) and UniversalString (UTF-32BE), which older CAs use.
fn attribute_text(attr: &x509_parser::x509::AttributeTypeAndValue<'_>) -> Option<String> {
    use x509_parser::der_parser::asn1_rs::Tag;
    if let Ok(s) = attr.as_str() {
        return Some(s.to_owned());
    }
    let data = attr.as_slice();
    match attr.attr_value().tag() {
        Tag::BmpString if data.len().is_multiple_of(2) => char::decode_utf16(
            data.chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]])),
        )
        .collect::<Result<String, _>>()
        .ok(),
        Tag::UniversalString if data.len().is_multiple_of(4) => data
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
        _ => None,
    }
}

fn escape_value(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsConnector;
    use tokio_rustls::rustls::ClientConfig;
    use tokio_rustls::rustls::pki_types::ServerName;

    const HANDSHAKE: Duration = Duration::from_secs(10);

    #[allow(dead_code)]
    mod pki {
        include!("../../tests/common/pki.rs");
    }
    use pki::{Ca, DnType, Pki};

    fn server_files(pki: &Pki, mtls: bool) -> TlsFiles {
        TlsFiles {
            cert: pki.path("server.pem"),
            key: pki.path("server.key"),
            client_ca: mtls.then(|| pki.path("ca.pem")),
        }
    }

    fn client_config(ca_pem: &str, identity: Option<(&str, &str)>) -> Arc<ClientConfig> {
        pki::client_config(ca_pem, identity, &[ALPN_H2])
    }

    /// What the client saw of one connection.
    struct Seen {
        alpn: Option<Vec<u8>>,
        server_serial: Vec<u8>,
    }

    /// One connection to `tls` over a real socket: the server accepts, reports the client's
    /// subject and echoes one byte; returns what the client saw and what the server got.
    async fn connect(
        tls: Arc<Tls>,
        client: Arc<ClientConfig>,
    ) -> (io::Result<Seen>, io::Result<Option<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut stream = tls.accept(tcp, HANDSHAKE).await?;
            let subject = peer_subject(&stream);
            let mut b = [0u8; 1];
            stream.read_exact(&mut b).await?;
            stream.write_all(&b).await?;
            stream.flush().await?;
            Ok(subject)
        });
        let seen = async {
            let tcp = TcpStream::connect(addr).await?;
            let name = ServerName::try_from("localhost").unwrap();
            let mut stream = TlsConnector::from(client).connect(name, tcp).await?;
            // With TLS 1.3 the server judges the client's certificate after the client's
            // handshake is done: a refusal shows on the first read.
            stream.write_all(b"x").await?;
            stream.flush().await?;
            let mut b = [0u8; 1];
            stream.read_exact(&mut b).await?;
            let (_, conn) = stream.get_ref();
            let leaf = conn.peer_certificates().unwrap()[0].clone();
            let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
            Ok(Seen {
                alpn: conn.alpn_protocol().map(|p| p.to_vec()),
                server_serial: cert.raw_serial().to_vec(),
            })
        }
        .await;
        let served = server.await.unwrap();
        (seen, served)
    }

    #[tokio::test]
    async fn a_handshake_succeeds_with_alpn_h2_and_no_client_certificate() {
        let pki = Pki::new();
        let tls = Tls::load(server_files(&pki, false)).unwrap();
        assert!(!tls.requires_client_cert());
        let (seen, served) = connect(tls.clone(), client_config(&pki.ca.pem, None)).await;
        let seen = seen.expect("client connects");
        assert_eq!(seen.alpn.as_deref(), Some(ALPN_H2));
        assert_eq!(seen.server_serial, vec![1]);
        assert_eq!(served.expect("server accepts"), None);
        let summary = tls.certificate_summary();
        assert!(summary.contains("CN=hotline-router"), "{summary}");
        assert!(summary.contains("serial 01"), "{summary}");
    }

    #[tokio::test]
    async fn mtls_accepts_a_certificate_of_the_ca_and_reports_its_subject() {
        let pki = Pki::new();
        let tls = Tls::load(server_files(&pki, true)).unwrap();
        assert!(tls.requires_client_cert());
        let (cert, key) = pki.ca.issue(
            &[],
            &[
                (DnType::OrganizationName, "Hotline"),
                (DnType::CommonName, "intake-1"),
            ],
            7,
        );
        let client = client_config(&pki.ca.pem, Some((&cert, &key)));
        let (seen, served) = connect(tls, client).await;
        seen.expect("client connects");
        assert_eq!(
            served.expect("server accepts").as_deref(),
            Some("CN=intake-1,O=Hotline")
        );
    }

    #[tokio::test]
    async fn mtls_refuses_a_client_without_a_certificate() {
        let pki = Pki::new();
        let tls = Tls::load(server_files(&pki, true)).unwrap();
        let (seen, served) = connect(tls, client_config(&pki.ca.pem, None)).await;
        let e = served.expect_err("server refuses");
        assert!(e.to_string().contains("certificate"), "{e}");
        assert!(seen.is_err(), "the client is told");
    }

    #[tokio::test]
    async fn mtls_refuses_a_certificate_of_another_ca() {
        let pki = Pki::new();
        let tls = Tls::load(server_files(&pki, true)).unwrap();
        let other = Ca::new("Someone Else's CA");
        let (cert, key) = other.issue(&[], &[(DnType::CommonName, "intruder")], 9);
        let (seen, served) = connect(tls, client_config(&pki.ca.pem, Some((&cert, &key)))).await;
        let e = served.expect_err("server refuses");
        assert!(e.to_string().to_lowercase().contains("issuer"), "{e}");
        assert!(seen.is_err(), "the client is told");
    }

    #[test]
    fn a_certificate_that_is_not_valid_now_is_refused_and_a_reload_keeps_the_old_one() {
        let pki = Pki::new();
        let tls = Tls::load(server_files(&pki, false)).unwrap();
        let serving = tls.certificate_summary();
        for (from, to, what) in [
            ((2019, 1, 1), (2020, 2, 1), "expired on"),
            ((2099, 1, 1), (2100, 1, 1), "not valid before"),
        ] {
            let (cert, key) = pki.ca.issue_between(from, to);
            let dir = tempfile::tempdir().unwrap();
            let files = TlsFiles {
                cert: dir.path().join("server.pem"),
                key: dir.path().join("server.key"),
                client_ca: None,
            };
            std::fs::write(&files.cert, &cert).unwrap();
            std::fs::write(&files.key, &key).unwrap();
            let e = Tls::load(files).err().expect("refused at start");
            assert!(e.contains(what) && e.contains("server.pem"), "{e}");
            // The same on SIGHUP: the old certificate keeps serving.
            pki.write("server.pem", &cert);
            pki.write("server.key", &key);
            let e = tls.reload().unwrap_err();
            assert!(e.contains(what), "{e}");
            assert_eq!(tls.certificate_summary(), serving);
        }
    }

    #[tokio::test]
    async fn reload_serves_the_new_certificate_and_a_broken_key_keeps_the_old_one() {
        let pki = Pki::new();
        let tls = Tls::load(server_files(&pki, false)).unwrap();
        let client = client_config(&pki.ca.pem, None);
        let (seen, _) = connect(tls.clone(), client.clone()).await;
        assert_eq!(seen.unwrap().server_serial, vec![1]);

        pki.server(2);
        tls.reload().expect("reloads");
        let (seen, _) = connect(tls.clone(), client.clone()).await;
        assert_eq!(seen.unwrap().server_serial, vec![2]);

        // A new certificate with a broken key: refused, serial 2 keeps serving.
        pki.server(3);
        pki.write(
            "server.key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        );
        let e = tls.reload().expect_err("a broken key is refused");
        assert!(e.contains("server.key"), "{e}");
        let (seen, _) = connect(tls.clone(), client.clone()).await;
        assert_eq!(seen.unwrap().server_serial, vec![2]);

        // A key of another certificate: refused, naming both files.
        let (_, other_key) = pki.ca.issue(&["localhost"], &[], 4);
        pki.write("server.key", &other_key);
        let e = tls.reload().expect_err("a mismatched key is refused");
        assert!(
            e.contains("server.key") && e.contains("does not belong") && e.contains("server.pem"),
            "{e}"
        );
        let (seen, _) = connect(tls, client).await;
        assert_eq!(seen.unwrap().server_serial, vec![2]);
    }

    #[test]
    fn a_missing_or_garbage_file_is_an_error_naming_it() {
        let pki = Pki::new();
        let mut files = server_files(&pki, true);
        files.cert = pki.path("missing.pem");
        let e = Tls::load(files).err().unwrap();
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );

        pki.write("garbage.pem", "this is not a certificate\n");
        let mut files = server_files(&pki, false);
        files.cert = pki.path("garbage.pem");
        let e = Tls::load(files).err().unwrap();
        assert!(
            e.contains("garbage.pem") && e.contains("no certificate"),
            "{e}"
        );

        let mut files = server_files(&pki, false);
        files.key = pki.path("garbage.pem");
        let e = Tls::load(files).err().unwrap();
        assert!(
            e.contains("garbage.pem") && e.contains("no private key"),
            "{e}"
        );

        // A certificate block whose content is not a certificate.
        pki.write(
            "bad-ca.pem",
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        );
        let mut files = server_files(&pki, false);
        files.client_ca = Some(pki.path("bad-ca.pem"));
        let e = Tls::load(files).err().unwrap();
        assert!(
            e.contains("bad-ca.pem") && e.contains("not a valid X.509"),
            "{e}"
        );

        let mut files = server_files(&pki, false);
        files.client_ca = Some(pki.path("nope/ca.pem"));
        let e = Tls::load(files).err().unwrap();
        assert!(e.contains("nope/ca.pem") && e.contains("client CA"), "{e}");
    }

    #[tokio::test]
    async fn a_silent_peer_times_out() {
        let pki = Pki::new();
        let tls = Tls::load(server_files(&pki, false)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _silent = TcpStream::connect(addr).await.unwrap();
        let (tcp, _) = listener.accept().await.unwrap();
        let e = tls
            .accept(tcp, Duration::from_millis(50))
            .await
            .expect_err("times out");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn subjects_are_rfc4514_with_escapes() {
        let (pem, _) = Ca::new("x").issue(
            &[],
            &[
                (DnType::CountryName, "CN"),
                (DnType::OrganizationName, "Hotline, Inc."),
                (DnType::CommonName, "intake\n#2 "),
            ],
            1,
        );
        let cert = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
        assert_eq!(
            subject_of(cert.as_ref()).as_deref(),
            Some("CN=intake\\0A#2\\ ,O=Hotline\\, Inc.,C=CN")
        );
        assert_eq!(subject_of(b"not DER"), None);
    }
}
