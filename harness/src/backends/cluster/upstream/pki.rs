//! The cluster's certificates and keys, made per environment: one CA, the API server's and the
//! kubelet's serving certificates, a client certificate per component (their CN and O are how
//! Kubernetes' authorizers know them), a front-proxy CA and the service-account signing key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::environment::write_private;

/// Why the certificates could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused.
    #[error("generating a certificate")]
    Generate(#[from] rcgen::Error),
    /// A file could not be written.
    #[error("writing {0}")]
    Write(PathBuf, #[source] std::io::Error),
}

/// A certificate and key pair on disk.
#[derive(Debug, Clone)]
pub(crate) struct CertFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// Every file of the cluster's PKI.
#[derive(Debug, Clone)]
pub(crate) struct Pki {
    pub(crate) ca: CertFiles,
    pub(crate) front_proxy_ca: CertFiles,
    pub(crate) apiserver: CertFiles,
    pub(crate) apiserver_kubelet_client: CertFiles,
    pub(crate) front_proxy_client: CertFiles,
    pub(crate) kubelet_serving: CertFiles,
    pub(crate) service_account_key: PathBuf,
    pub(crate) service_account_pub: PathBuf,
    /// Client certificates by component: admin, controller-manager, scheduler, kube-proxy, kubelet.
    pub(crate) clients: Vec<(&'static str, CertFiles)>,
}

impl Pki {
    /// The client certificate of `component`.
    pub(crate) fn client(&self, component: &str) -> &CertFiles {
        &self
            .clients
            .iter()
            .find(|(name, _)| *name == component)
            .unwrap_or(&self.clients[0])
            .1
    }
}

struct Authority {
    params: CertificateParams,
    key: KeyPair,
}

impl Authority {
    fn new(common_name: &str) -> Result<(Self, String), PkiError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = name(common_name, None);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let pem = params.self_signed(&key)?.pem();
        Ok((Authority { params, key }, pem))
    }

    /// A leaf for `common_name` (and organisation), with SANs for a serving certificate.
    fn issue(
        &self,
        common_name: &str,
        organisation: Option<&str>,
        serving: Option<(&[&str], &[IpAddr])>,
    ) -> Result<(String, String), PkiError> {
        let key = KeyPair::generate()?;
        let (dns, ips) = serving.unwrap_or((&[], &[]));
        let mut params =
            CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>())?;
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.distinguished_name = name(common_name, organisation);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![if serving.is_some() {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

fn name(common_name: &str, organisation: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(o) = organisation {
        dn.push(DnType::OrganizationName, o);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

fn save(dir: &Path, stem: &str, (cert, key): (String, String)) -> Result<CertFiles, PkiError> {
    let files = CertFiles {
        cert: dir.join(format!("{stem}.crt")),
        key: dir.join(format!("{stem}.key")),
    };
    std::fs::write(&files.cert, cert).map_err(|e| PkiError::Write(files.cert.clone(), e))?;
    write_private(&files.key, key.as_bytes()).map_err(|e| PkiError::Write(files.key.clone(), e))?;
    Ok(files)
}

/// Makes the PKI under `dir` for node `node` at `node_ip`, with the API server reachable at
/// `node_ip`, 127.0.0.1 and the first service address `service_ip`.
pub(crate) fn generate(
    dir: &Path,
    node: &str,
    node_ip: IpAddr,
    service_ip: IpAddr,
) -> Result<Pki, PkiError> {
    std::fs::create_dir_all(dir).map_err(|e| PkiError::Write(dir.to_owned(), e))?;
    let (ca, ca_pem) = Authority::new("gitlab-k8s-harness-kubernetes-ca")?;
    let ca_files = save(dir, "ca", (ca_pem, ca.key.serialize_pem()))?;
    let (front, front_pem) = Authority::new("gitlab-k8s-harness-front-proxy-ca")?;
    let front_files = save(
        dir,
        "front-proxy-ca",
        (front_pem, front.key.serialize_pem()),
    )?;
    let loopback: IpAddr = [127, 0, 0, 1].into();
    let apiserver = ca.issue(
        "kube-apiserver",
        None,
        Some((
            &[
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
                "localhost",
            ],
            &[node_ip, loopback, service_ip],
        )),
    )?;
    let kubelet_serving = ca.issue(
        node,
        None,
        Some((&[node, "localhost"], &[node_ip, loopback])),
    )?;
    let node_user = format!("system:node:{node}");
    let mut clients = vec![];
    for (component, cn, o) in [
        ("admin", "admin", Some("system:masters")),
        ("controller-manager", "system:kube-controller-manager", None),
        ("scheduler", "system:kube-scheduler", None),
        ("kube-proxy", "system:kube-proxy", None),
        ("kubelet", node_user.as_str(), Some("system:nodes")),
    ] {
        clients.push((component, save(dir, component, ca.issue(cn, o, None)?)?));
    }
    let sa = KeyPair::generate()?;
    let service_account_key = dir.join("sa.key");
    let service_account_pub = dir.join("sa.pub");
    write_private(&service_account_key, sa.serialize_pem().as_bytes())
        .map_err(|e| PkiError::Write(service_account_key.clone(), e))?;
    std::fs::write(&service_account_pub, sa.public_key_pem())
        .map_err(|e| PkiError::Write(service_account_pub.clone(), e))?;
    Ok(Pki {
        apiserver: save(dir, "apiserver", apiserver)?,
        apiserver_kubelet_client: save(
            dir,
            "apiserver-kubelet-client",
            ca.issue("kube-apiserver", None, None)?,
        )?,
        front_proxy_client: save(
            dir,
            "front-proxy-client",
            front.issue("front-proxy-client", None, None)?,
        )?,
        kubelet_serving: save(dir, "kubelet-serving", kubelet_serving)?,
        ca: ca_files,
        front_proxy_ca: front_files,
        service_account_key,
        service_account_pub,
        clients,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_written_and_keys_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pki = generate(
            dir.path(),
            "node-1",
            "10.244.0.1".parse().unwrap(),
            "10.96.0.1".parse().unwrap(),
        )
        .unwrap();
        for files in [&pki.ca, &pki.apiserver, pki.client("kubelet")] {
            assert!(
                std::fs::read_to_string(&files.cert)
                    .unwrap()
                    .contains("BEGIN CERTIFICATE")
            );
            let mode = std::fs::metadata(&files.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{}", files.key.display());
        }
        assert!(
            std::fs::read_to_string(&pki.service_account_pub)
                .unwrap()
                .contains("PUBLIC KEY")
        );
    }
}
