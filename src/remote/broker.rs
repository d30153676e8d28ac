//! The MQTT connection to the province's broker (SPEC §13), for both ends: a station's
//! `[fleet]` and the province's `loaxa fleet` commands. rumqttc does the protocol
//! (keep-alive, QoS 1 retries, persistent sessions); TLS is rustls with the same `ring`
//! provider ureq uses, so one crypto library serves the whole binary.
//!
//! MQTT 5, not 3.1.1, for three things 3.1.1 cannot say (issue 26):
//! - **Maximum Packet Size** in CONNECT: the broker must not send a client anything
//!   larger, and drops it instead (mosquitto logs "Dropping too large outgoing PUBLISH").
//!   Under 3.1.1 an oversized message made the client's decoder fail, the connection
//!   drop, and the broker deliver the same message again on every reconnect: one 300 KB
//!   message cut a station off for good.
//! - **A DISCONNECT with a reason**: "session taken over" (0x8E) tells a station that
//!   another client logged in with its client id, which it logs.
//! - **Message Expiry**: a retained message is delivered with what is left of its
//!   expiry, so the province learns how old a retained status is by the broker's clock
//!   (`core::fleet::STATUS_EXPIRY`), not by the station's own claim.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::v5::MqttOptions;
use rumqttc::{TlsConfiguration, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::fleet::Broker;

/// The most of a client's own QoS 1 publishes awaiting the broker's acknowledgement.
pub const OUTGOING_INFLIGHT: u16 = 256;

/// How a client logs in.
#[derive(Debug, Clone, Default)]
pub struct Login<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
    pub ca_file: Option<&'a Path>,
    pub client_cert: Option<(&'a Path, &'a Path)>,
}

/// Options for one client: `client_id` (a station's own id), keep-alive 30 s, and the
/// largest packet it takes (`max_packet`, told to the broker, which then drops anything
/// larger for this client instead of sending it).
pub fn options(
    client_id: &str,
    broker: &Broker,
    login: &Login,
    max_packet: usize,
) -> Result<MqttOptions, TlsError> {
    let mut o = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(Some(u32::try_from(max_packet).unwrap_or(u32::MAX)));
    // rumqttc keeps a table of its own unacknowledged publishes sized by this limit,
    // allocated at once (65,535 entries by default: some 16 MB per client). A station
    // has a few in flight (status, acks, events), the province's tools one per target.
    o.set_outgoing_inflight_upper_limit(OUTGOING_INFLIGHT);
    if let Some(user) = login.username {
        o.set_credentials(user, login.password.unwrap_or(""));
    }
    if broker.tls {
        o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(tls(login)?),
        )));
    }
    Ok(o)
}

/// Why the broker's TLS could not be set up: the files `[fleet]` names, or the lack of them.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {why}")]
    Unreadable { path: PathBuf, why: String },
    #[error("no CA certificate to check the broker's certificate with; set [fleet] ca_file")]
    NoRoots,
    #[error("client certificate refused: {0}")]
    ClientCert(String),
    #[error("TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

fn unreadable(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> TlsError + '_ {
    move |e| TlsError::Unreadable {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

fn tls(login: &Login) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    match login.ca_file {
        Some(ca) => {
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| unreadable(ca)(&e))? {
                let cert = cert.map_err(|e| unreadable(ca)(&e))?;
                roots.add(cert).map_err(|e| unreadable(ca)(&e))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    match login.client_cert {
        Some((cert, key)) => {
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| unreadable(cert)(&e))?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| unreadable(key)(&e))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| TlsError::ClientCert(e.to_string()))
        }
        None => Ok(builder.with_no_client_auth()),
    }
}
