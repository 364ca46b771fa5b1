//! Checks of node configuration inputs, one per attribute, so the data source can report each
//! known value at plan time (unknown values are checked once they are known).

use super::{ConfigError, RestateVersion};
use crate::client::connection::normalize_endpoint;
use crate::client::Replication;

pub const ROLES: [&str; 5] = [
    "worker",
    "admin",
    "metadata-server",
    "log-server",
    "http-ingress",
];

fn err(attribute: &'static str, summary: &str, detail: String) -> ConfigError {
    ConfigError {
        attribute,
        summary: summary.to_string(),
        detail,
    }
}

pub fn roles(roles: &[String]) -> Result<(), ConfigError> {
    if roles.is_empty() {
        return Err(err(
            "roles",
            "No roles",
            format!(
                "A node needs at least one role; choose from {}.",
                ROLES.join(", ")
            ),
        ));
    }
    for r in roles {
        if !ROLES.contains(&r.as_str()) {
            let hint = if r == "metadata-store" {
                " (write metadata-server; the renderer uses metadata-store for Restate 1.2)"
            } else {
                ""
            };
            return Err(err(
                "roles",
                "Unknown role",
                format!(
                    "\"{r}\" is not a Restate role{hint}; choose from {}.",
                    ROLES.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A node's fabric URL (`advertised_address`, `metadata_client_addresses`).
pub fn fabric_url(attribute: &'static str, text: &str) -> Result<(), ConfigError> {
    normalize_endpoint(text)
        .map(|_| ())
        .map_err(|why| err(attribute, "Invalid address", format!("\"{text}\": {why}.")))
}

/// `bind_address`: an IP and a port, like `0.0.0.0:5122`.
pub fn bind_address(text: &str) -> Result<(), ConfigError> {
    text.parse::<std::net::SocketAddr>()
        .map(|_| ())
        .map_err(|_| {
            err(
                "bind_address",
                "Invalid bind address",
                format!(
                    "\"{text}\" is not an IP address and port; write it like \"0.0.0.0:5122\"."
                ),
            )
        })
}

/// `location`: `region` or `region.zone`.
pub fn location(text: &str) -> Result<(), ConfigError> {
    let parts: Vec<&str> = text.split('.').collect();
    let ok = !text.is_empty()
        && parts.len() <= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && !p.contains(char::is_whitespace));
    if ok {
        Ok(())
    } else {
        Err(err(
            "location",
            "Invalid location",
            format!("\"{text}\" is not \"region\" or \"region.zone\" (for example \"us-east-1.us-east-1a\")."),
        ))
    }
}

pub fn replication(attribute: &'static str, text: &str) -> Result<(), ConfigError> {
    text.parse::<Replication>().map(|_| ()).map_err(|e| {
        err(
            attribute,
            &format!("Invalid {attribute}"),
            format!("{attribute} = \"{text}\": {e}."),
        )
    })
}

pub fn num_partitions(n: i64) -> Result<u16, ConfigError> {
    u16::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
        err(
            "default_num_partitions",
            "default_num_partitions out of range",
            format!("default_num_partitions = {n}: use 1 to {}.", u16::MAX),
        )
    })
}

pub fn log_provider(text: &str) -> Result<(), ConfigError> {
    if ["local", "replicated"].contains(&text) {
        Ok(())
    } else {
        Err(err(
            "log_provider",
            "Unknown log provider",
            format!("log_provider = \"{text}\" is not a Restate log provider; use \"local\" or \"replicated\"."),
        ))
    }
}

pub fn version(text: &str) -> Result<RestateVersion, ConfigError> {
    RestateVersion::parse(text).map_err(|e| {
        err(
            "restate_version",
            "Unsupported restate_version",
            format!("{e}."),
        )
    })
}

/// The snapshot destination's scheme must be one the chosen version accepts.
pub fn snapshot_destination(version: RestateVersion, text: &str) -> Result<(), ConfigError> {
    let allowed = version.snapshot_schemes();
    let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let list = allowed
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(", ");
    match scheme {
        Some(s) if allowed.contains(&s.as_str()) => {
            let rest = &text[s.len() + 3..];
            if rest.is_empty() || rest.starts_with('/') && s != "file" {
                Err(err(
                    "snapshots",
                    "Invalid snapshot destination",
                    format!("\"{text}\" names no bucket; write it like \"{s}://bucket/prefix\"."),
                ))
            } else {
                Ok(())
            }
        }
        Some(s) if s == "file" => Err(err(
            "snapshots",
            "Snapshot destination not supported by this Restate version",
            format!(
                "Restate {version} rejects file:// snapshot destinations (since 1.6 a node with one exits at \
                 start-up); use an object store: {list}."
            ),
        )),
        _ => Err(err(
            "snapshots",
            "Invalid snapshot destination",
            format!("\"{text}\": Restate {version} accepts {list} destinations, like \"s3://bucket/prefix\"."),
        )),
    }
}

/// A node that joins others (its metadata client points elsewhere) must not auto-provision: it
/// would provision a second cluster with the same name.
pub fn auto_provision(
    auto_provision: bool,
    advertised_address: Option<&str>,
    metadata_client_addresses: Option<&[String]>,
) -> Result<(), ConfigError> {
    let Some(addrs) = metadata_client_addresses.filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    if !auto_provision {
        return Ok(());
    }
    let own = advertised_address.and_then(|a| normalize_endpoint(a).ok());
    let includes_self = addrs
        .iter()
        .any(|a| normalize_endpoint(a).ok().is_some_and(|a| Some(a) == own));
    if includes_self {
        return Ok(());
    }
    Err(err(
        "auto_provision",
        "A joining node must not auto-provision",
        format!(
            "This node's metadata_client_addresses ({}) do not include its own advertised_address ({}), so it \
             joins other nodes; with auto_provision = true it would provision a second cluster of the same \
             name. Set auto_provision = false.",
            addrs.join(", "),
            advertised_address.unwrap_or("unset")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> RestateVersion {
        RestateVersion::parse(s).unwrap()
    }

    #[test]
    fn roles_must_be_known_and_present() {
        assert!(roles(&["worker".into(), "log-server".into()]).is_ok());
        assert_eq!(roles(&[]).unwrap_err().summary, "No roles");
        let e = roles(&["ingress".into()]).unwrap_err();
        assert_eq!((e.attribute, e.summary.as_str()), ("roles", "Unknown role"));
        assert!(roles(&["metadata-store".into()])
            .unwrap_err()
            .detail
            .contains("write metadata-server"));
    }

    #[test]
    fn addresses() {
        assert!(fabric_url("advertised_address", "http://10.0.0.2:5122").is_ok());
        assert!(fabric_url("advertised_address", "10.0.0.2:5122")
            .unwrap_err()
            .detail
            .contains("http://"));
        assert!(bind_address("0.0.0.0:5122").is_ok());
        assert!(bind_address("[::]:5122").is_ok());
        assert!(bind_address("localhost:5122")
            .unwrap_err()
            .detail
            .contains("\"0.0.0.0:5122\""));
        assert!(bind_address("0.0.0.0").is_err());
    }

    #[test]
    fn locations() {
        assert!(location("us-east-1").is_ok());
        assert!(location("us-east-1.us-east-1a").is_ok());
        for bad in ["", "a.b.c", ".a", "a.", "a b"] {
            assert!(location(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn snapshot_schemes_follow_the_version() {
        assert!(snapshot_destination(v("1.7"), "s3://bucket/prefix").is_ok());
        assert!(snapshot_destination(v("1.7"), "gs://bucket").is_ok());
        assert!(snapshot_destination(v("1.7"), "az://container/p").is_ok());
        let e = snapshot_destination(v("1.6"), "file:///tmp/snapshots").unwrap_err();
        assert!(
            e.detail.contains("Restate 1.6 rejects file://"),
            "{}",
            e.detail
        );
        assert!(snapshot_destination(v("1.5"), "file:///tmp/snapshots").is_ok());
        assert!(snapshot_destination(v("1.7"), "http://x/y")
            .unwrap_err()
            .detail
            .contains("s3://, gs://, az://"));
        assert!(snapshot_destination(v("1.7"), "s3://")
            .unwrap_err()
            .detail
            .contains("names no bucket"));
    }

    #[test]
    fn a_joining_node_cannot_auto_provision() {
        let n1 = vec!["http://10.0.0.1:5122".to_string()];
        assert!(auto_provision(false, Some("http://10.0.0.2:5122"), Some(&n1)).is_ok());
        let e = auto_provision(true, Some("http://10.0.0.2:5122"), Some(&n1)).unwrap_err();
        assert_eq!(e.attribute, "auto_provision");
        assert!(e.detail.contains("second cluster"));
        // the first node may list itself
        assert!(auto_provision(true, Some("http://10.0.0.1:5122/"), Some(&n1)).is_ok());
        // no metadata client addresses: a single node that may provision itself
        assert!(auto_provision(true, None, None).is_ok());
    }

    #[test]
    fn versions_and_partitions() {
        assert_eq!(version("1.1").unwrap_err().attribute, "restate_version");
        assert_eq!(num_partitions(24).unwrap(), 24);
        assert!(num_partitions(0).is_err());
        assert!(num_partitions(70000).is_err());
        assert!(log_provider("kafka").is_err());
    }
}
