//! Restate versions the renderer knows, and which configuration keys each one reads.
//! Checked against Restate's source at v1.2.0, v1.2.2, v1.3.2, v1.4.0 and v1.7.6.

use std::fmt;

pub const OLDEST_MINOR: u8 = 2;
pub const NEWEST_MINOR: u8 = 7;

/// A supported Restate `1.<minor>` release line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RestateVersion {
    pub minor: u8,
}

impl RestateVersion {
    pub const NEWEST: RestateVersion = RestateVersion {
        minor: NEWEST_MINOR,
    };

    /// Accepts `1.7` or `1.7.12` (a leading `v` too).
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let (major, minor) = (parts.next(), parts.next());
        let patch_ok =
            parts.next().is_none_or(|p| p.parse::<u32>().is_ok()) && parts.next().is_none();
        let parsed = match (major.map(str::parse::<u32>), minor.map(str::parse::<u8>)) {
            (Some(Ok(major)), Some(Ok(minor))) if patch_ok => Some((major, minor)),
            _ => None,
        };
        match parsed {
            Some((1, minor)) if (OLDEST_MINOR..=NEWEST_MINOR).contains(&minor) => Ok(RestateVersion { minor }),
            Some(_) => Err(format!(
                "Restate {text} is not supported: this provider renders configuration for 1.{OLDEST_MINOR} to 1.{NEWEST_MINOR}"
            )),
            None => Err(format!(
                "\"{text}\" is not a Restate version; write it like \"1.7\" or \"1.7.12\""
            )),
        }
    }

    /// `[metadata-server] type` selected local or replicated metadata up to 1.3; 1.4 removed it.
    pub fn has_metadata_server_type(self) -> bool {
        self.minor <= 3
    }

    /// 1.2 reads `[admin] default-partition-replication` and
    /// `[bifrost.replicated-loglet] default-log-replication`; 1.3 added `default-replication`.
    pub fn has_default_replication(self) -> bool {
        self.minor >= 3
    }

    /// The name of the metadata role in `roles`: 1.2 writes `metadata-store`.
    pub fn metadata_role(self) -> &'static str {
        if self.minor == 2 {
            "metadata-store"
        } else {
            "metadata-server"
        }
    }

    /// Snapshot destination schemes the server accepts: since 1.6 only object stores.
    pub fn snapshot_schemes(self) -> &'static [&'static str] {
        if self.minor >= 6 {
            &["s3", "gs", "az"]
        } else {
            &["s3", "gs", "az", "file"]
        }
    }
}

impl fmt::Display for RestateVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_versions() {
        assert_eq!(RestateVersion::parse("1.7").unwrap().minor, 7);
        assert_eq!(RestateVersion::parse("1.7.12").unwrap().minor, 7);
        assert_eq!(RestateVersion::parse("v1.2.2").unwrap().minor, 2);
        assert!(RestateVersion::parse("1.1")
            .unwrap_err()
            .contains("not supported"));
        assert!(RestateVersion::parse("1.8")
            .unwrap_err()
            .contains("1.2 to 1.7"));
        assert!(RestateVersion::parse("2.0")
            .unwrap_err()
            .contains("not supported"));
        assert!(RestateVersion::parse("latest")
            .unwrap_err()
            .contains("not a Restate version"));
        assert!(RestateVersion::parse("1.7.x")
            .unwrap_err()
            .contains("not a Restate version"));
    }
}
