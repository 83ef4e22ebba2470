// Certificates issued at test time (rcgen): a CA, leaf certificates, a directory of PEM files,
// and a rustls client configuration. Shared by `tests/tls.rs` (as `common::pki`) and the unit
// tests of `src/server/tls.rs` (with `include!`, hence no inner attributes or `//!` here), so
// that both issue certificates alike.

use std::path::PathBuf;
use std::sync::Arc;

pub use rcgen::DnType;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::RootCertStore;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A CA that issues certificates in the test.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        // rcgen starts with CN=rcgen self signed cert; the test sets its own.
        params.distinguished_name = DistinguishedName::new();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            issuer: Issuer::new(params, key),
            pem: cert.pem(),
        }
    }

    /// A leaf certificate and its key (PEM) for `names` (a server) or none (a client), with the
    /// subject `dn` and `serial`.
    pub fn issue(&self, names: &[&str], dn: &[(DnType, &str)], serial: u64) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name = DistinguishedName::new();
        for (t, v) in dn {
            params.distinguished_name.push(t.clone(), *v);
        }
        params.serial_number = Some(SerialNumber::from(serial));
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    /// A server certificate for localhost valid only from `from` to `to` (year, month, day).
    pub fn issue_between(&self, from: (i32, u8, u8), to: (i32, u8, u8)) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "hotline-router");
        params.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        params.not_after = rcgen::date_time_ymd(to.0, to.1, to.2);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A directory with the CA (`ca.pem`), the server's pair for localhost (`server.pem`,
/// `server.key`), a client's pair (`client.pem`, `client.key`: O=Hotline, CN=intake-1), and one
/// of another CA (`stranger.pem`, `stranger.key`).
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: Ca,
}

impl Pki {
    pub fn new() -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca: Ca::new("Hotline Test CA"),
        };
        pki.write("ca.pem", &pki.ca.pem);
        pki.server(1);
        let client = [
            (DnType::OrganizationName, "Hotline"),
            (DnType::CommonName, "intake-1"),
        ];
        let (cert, key) = pki.ca.issue(&[], &client, 100);
        pki.write("client.pem", &cert);
        pki.write("client.key", &key);
        let stranger = [(DnType::CommonName, "stranger")];
        let (cert, key) = Ca::new("Another CA").issue(&[], &stranger, 200);
        pki.write("stranger.pem", &cert);
        pki.write("stranger.key", &key);
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_owned()
    }

    /// Writes a file whole: to a temporary name, then renamed over the old one (as a certificate
    /// manager does, so that a reader never sees half a file).
    pub fn write(&self, name: &str, text: &str) {
        let tmp = self.path(&format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.path(name)).unwrap();
    }

    /// (Re)issues the server's certificate, for localhost and 127.0.0.1, with this serial.
    pub fn server(&self, serial: u64) {
        let (cert, key) = self.ca.issue(
            &["localhost", "127.0.0.1"],
            &[
                (DnType::OrganizationName, "Hotline"),
                (DnType::CommonName, "hotline-router"),
            ],
            serial,
        );
        self.write("server.pem", &cert);
        self.write("server.key", &key);
    }
}

/// A rustls client trusting `ca_pem`, presenting `identity` (certificate and key, PEM) if given,
/// offering the ALPN protocols `alpn`.
pub fn client_config(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
    alpn: &[&[u8]],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .map(|c| c.unwrap())
                    .collect(),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}
