//! The environment's own certificate authority, the server's leaf certificate and client
//! certificates, plus the rustls server configuration (client certificates optional).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// TLS setup failures.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("generating certificates")]
    Generate(#[from] rcgen::Error),
    /// rustls rejected the configuration.
    #[error("configuring TLS")]
    Rustls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("configuring client certificate verification: {0}")]
    Verifier(String),
    /// A saved certificate could not be read back.
    #[error("reading a saved certificate")]
    Pem(#[source] rustls::pki_types::pem::Error),
}

/// The PKI as PEM text, as a snapshot keeps it so that a restarted server presents the same CA
/// and every kubeconfig and client certificate it handed out stays valid.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PkiPem {
    /// CA certificate.
    pub ca_cert: String,
    /// CA private key (PKCS#8).
    pub ca_key: String,
    /// Server certificate.
    pub server_cert: String,
    /// Server private key (PKCS#8).
    pub server_key: String,
}

fn first_cert(pem: &str) -> Result<CertificateDer<'static>, TlsError> {
    CertificateDer::from_pem_slice(pem.as_bytes()).map_err(TlsError::Pem)
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "harness-apiserver-ca");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(ca_params)
}

/// A CA plus the server leaf certificate signed by it.
pub struct Pki {
    /// CA certificate (PEM).
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
    ca_key: KeyPair,
    ca_params: CertificateParams,
    /// Server certificate (PEM).
    pub server_cert_pem: String,
    server_der: CertificateDer<'static>,
    server_key_der: Vec<u8>,
}

/// A client certificate and its key, both PEM.
pub struct ClientCert {
    /// Certificate (PEM).
    pub cert_pem: String,
    /// Private key (PEM).
    pub key_pem: String,
}

impl Pki {
    /// Generates a fresh CA and server certificate for 127.0.0.1 and the in-cluster names.
    pub fn generate() -> Result<Self, TlsError> {
        let ca_key = KeyPair::generate()?;
        let ca_params = ca_params()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;

        let server_key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![
            "localhost".to_string(),
            "kubernetes".to_string(),
            "kubernetes.default".to_string(),
            "kubernetes.default.svc".to_string(),
            "kubernetes.default.svc.cluster.local".to_string(),
        ])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "kube-apiserver");
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let server_cert = params.signed_by(&server_key, &issuer)?;
        Ok(Pki {
            ca_pem: ca_cert.pem(),
            ca_der: ca_cert.der().clone(),
            server_cert_pem: server_cert.pem(),
            server_der: server_cert.der().clone(),
            server_key_der: server_key.serialize_der(),
            ca_key,
            ca_params,
        })
    }

    /// The PKI as PEM text (for snapshots).
    pub fn to_pem(&self) -> Result<PkiPem, TlsError> {
        let server_key = KeyPair::try_from(self.server_key_der.as_slice())?;
        Ok(PkiPem {
            ca_cert: self.ca_pem.clone(),
            ca_key: self.ca_key.serialize_pem(),
            server_cert: self.server_cert_pem.clone(),
            server_key: server_key.serialize_pem(),
        })
    }

    /// The PKI a snapshot saved.
    pub fn from_pem(pem: &PkiPem) -> Result<Self, TlsError> {
        Ok(Pki {
            ca_der: first_cert(&pem.ca_cert)?,
            ca_pem: pem.ca_cert.clone(),
            ca_key: KeyPair::from_pem(&pem.ca_key)?,
            ca_params: ca_params()?,
            server_der: first_cert(&pem.server_cert)?,
            server_cert_pem: pem.server_cert.clone(),
            server_key_der: KeyPair::from_pem(&pem.server_key)?.serialize_der(),
        })
    }

    /// Issues a client certificate: CN = user, O = each group (how Kubernetes reads them).
    pub fn client_cert(&self, user: &str, groups: &[&str]) -> Result<ClientCert, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, user);
        for g in groups {
            dn.push(DnType::OrganizationName, *g);
        }
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(ClientCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// rustls server config: our leaf, optional client certificates signed by our CA.
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .allow_unauthenticated()
        .build()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.server_der.clone()], key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Reads user (CN) and groups (O) from a verified client certificate.
pub fn identity_from_cert(der: &[u8]) -> Option<(String, Vec<String>)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let subject = cert.subject();
    let user = subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())?
        .to_string();
    let groups = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok().map(String::from))
        .collect();
    Some((user, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_pem_reads_back_to_the_same_certificates() {
        let pki = Pki::generate().unwrap();
        let again = Pki::from_pem(&pki.to_pem().unwrap()).unwrap();
        assert_eq!(again.ca_der, pki.ca_der);
        assert_eq!(again.server_der, pki.server_der);
        assert!(matches!(
            first_cert("no PEM here"),
            Err(TlsError::Pem(rustls::pki_types::pem::Error::NoItemsFound))
        ));
    }
}
