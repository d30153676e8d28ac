//! `[fleet]` in station.toml (SPEC §13): the province's MQTT broker this station
//! connects out to, so it can be reached and seen behind NAT.

use std::path::{Path, PathBuf};

use super::diag::Diagnostics;
use super::toml_reader::Fields;

#[derive(Debug, Clone, PartialEq)]
pub struct Fleet {
    pub broker: Broker,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The province's topic prefix, e.g. `loaxa/hn` (no `+`, `#`, or leading/trailing `/`).
    pub prefix: String,
    /// For `mqtts://`: a PEM file of the CA that signed the broker's certificate
    /// [default: the system's roots].
    pub ca_file: Option<PathBuf>,
    /// For `mqtts://`: a TLS client certificate and its key (PEM), if the broker asks.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// `mqtt://host[:port]` or `mqtts://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Broker {
    pub fn parse(text: &str) -> Result<Broker, String> {
        let (tls, rest) = if let Some(r) = text.strip_prefix("mqtts://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("mqtt://") {
            (false, r)
        } else {
            return Err(format!(
                "{text:?} is not a broker address; write mqtt://host:1883 or mqtts://host:8883"
            ));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || p.chars().all(|c| c.is_ascii_digit()) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{p:?} is not a port number"))?,
            ),
            _ => (rest, if tls { 8883 } else { 1883 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains('/') || host.contains('@') {
            return Err(format!("{text:?} has no plain host name"));
        }
        Ok(Broker {
            host: host.to_string(),
            port,
            tls,
        })
    }
}

impl std::fmt::Display for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

/// A topic prefix: 1–200 characters, levels separated by `/`, none empty, no wildcards.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 200
        && prefix.split('/').all(|level| !level.is_empty())
        && !prefix.contains(['+', '#', '\0']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{prefix:?} is not a topic prefix: write levels separated by '/', e.g. \"loaxa/hn\", with no '+' or '#'"
        ))
    }
}

pub(super) fn read(root: &mut Fields, d: &mut Diagnostics, config_dir: &Path) -> Option<Fleet> {
    let mut t = root.table(d, "fleet")?;
    let before = d.len();
    let broker = t.required_string(d, "broker").and_then(|b| {
        Broker::parse(b.get_ref())
            .map_err(|e| d.error_help(b.span(), e, "e.g. broker = \"mqtt://tinh.example:1883\""))
            .ok()
    });
    let prefix = t.required_string(d, "prefix").and_then(|p| {
        check_prefix(p.get_ref())
            .map_err(|e| d.error(p.span(), e))
            .ok()
            .map(|()| p.into_inner())
    });
    let username = t.string(d, "username").map(|s| s.into_inner());
    let password = t.string(d, "password").map(|s| s.into_inner());
    let mut file = |t: &mut Fields, key: &'static str| {
        let v = t.string(d, key)?;
        let path = config_dir.join(v.get_ref());
        if !path.is_file() {
            d.error(
                v.span(),
                format!("{key} file not found: {}", path.display()),
            );
            return None;
        }
        Some(path)
    };
    let ca_file = file(&mut t, "ca_file");
    let cert = file(&mut t, "client_cert");
    let key = file(&mut t, "client_key");
    let span = t.span();
    t.finish(d);
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            d.error(span, "[fleet] client_cert and client_key go together");
            None
        }
    };
    if d.len() > before {
        return None;
    }
    Some(Fleet {
        broker: broker?,
        username,
        password,
        prefix: prefix?,
        ca_file,
        client_cert,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses() {
        let b = Broker::parse("mqtt://tinh.example:1883").unwrap();
        assert_eq!(
            (b.host.as_str(), b.port, b.tls),
            ("tinh.example", 1883, false)
        );
        let b = Broker::parse("mqtts://tinh.example").unwrap();
        assert_eq!((b.port, b.tls), (8883, true));
        let b = Broker::parse("mqtt://127.0.0.1:18830/").unwrap();
        assert_eq!((b.host.as_str(), b.port), ("127.0.0.1", 18830));
        assert!(Broker::parse("http://x:1883").is_err());
        assert!(Broker::parse("mqtt://:1883").is_err());
        assert!(Broker::parse("mqtt://x:99999").is_err());
        assert!(Broker::parse("mqtt://user@x").is_err());
    }

    #[test]
    fn prefixes() {
        assert!(check_prefix("loaxa/hn").is_ok());
        for bad in ["", "/loaxa", "loaxa/", "a//b", "a/+/b", "a/#"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
    }
}
