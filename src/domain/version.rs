//! Restate versions: one type for what nodes report (`1.7.12`), what users expect (`1.7` or
//! `1.7.12`), and what the renderer writes configuration for; the upgrade rule; and what each
//! version can do. Key names checked against Restate's source at v1.2.0, v1.2.2, v1.3.2, v1.4.0
//! and v1.7.6.

use std::fmt;

use super::error::Error;

/// The oldest and newest `1.<minor>` lines the renderer writes configuration for.
pub const OLDEST_RENDERED_MINOR: u32 = 2;
pub const NEWEST_RENDERED_MINOR: u32 = 7;

/// `major.minor[.patch]`. Ordered by (major, minor, patch), a version without a patch first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
}

impl Version {
    /// The newest line the renderer knows; the default when the user names no version.
    pub const NEWEST_RENDERED: Version = Version {
        major: 1,
        minor: NEWEST_RENDERED_MINOR,
        patch: None,
    };

    /// Parses `1.7`, `1.7.12`, `v1.7.12`, ignoring a pre-release or build suffix (`1.7.7-dev`).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidVersion(text.to_string());
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next().unwrap_or_default();
        let mut parts = core.split('.');
        let mut number = || -> Result<Option<u32>, Error> {
            parts
                .next()
                .map(|p| p.parse::<u32>().map_err(|_| invalid()))
                .transpose()
        };
        let major = number()?.ok_or_else(invalid)?;
        let minor = number()?.ok_or_else(invalid)?;
        let patch = number()?;
        if number()?.is_some() {
            return Err(invalid());
        }
        Ok(Version {
            major,
            minor,
            patch,
        })
    }

    /// Whether a node reporting `reported` satisfies this wanted version (`1.7` matches any 1.7.x).
    pub fn matches(&self, reported: &Version) -> bool {
        self.line() == reported.line() && self.patch.is_none_or(|p| Some(p) == reported.patch)
    }

    /// The release line, `(1, 7)` for 1.7.12.
    pub fn line(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// A version the renderer writes configuration for (1.2 to 1.7).
    pub fn renderable(text: &str) -> Result<Self, Error> {
        let v = Version::parse(text)?;
        if v.major == 1 && (OLDEST_RENDERED_MINOR..=NEWEST_RENDERED_MINOR).contains(&v.minor) {
            Ok(v)
        } else {
            Err(Error::UnsupportedVersion(text.trim().to_string()))
        }
    }

    /// `[metadata-server] type` selected local or replicated metadata up to 1.3; 1.4 removed it.
    pub fn has_metadata_server_type(&self) -> bool {
        self.line() <= (1, 3)
    }

    /// 1.2 reads `[admin] default-partition-replication` and
    /// `[bifrost.replicated-loglet] default-log-replication`; 1.3 added `default-replication`.
    pub fn has_default_replication(&self) -> bool {
        self.line() >= (1, 3)
    }

    /// Snapshot destination schemes the server accepts: since 1.6 only object stores.
    pub fn snapshot_schemes(&self) -> &'static [&'static str] {
        if self.line() >= (1, 6) {
            &["s3", "gs", "az"]
        } else {
            &["s3", "gs", "az", "file"]
        }
    }

    /// `[tls]` for the fabric port came in 1.7.3; "1.7" without a patch means the newest 1.7.
    pub fn has_fabric_tls(&self) -> bool {
        self.line() > (1, 7) || (self.line() == (1, 7) && self.patch.is_none_or(|p| p >= 3))
    }

    /// Nodes record their binary version in the nodes configuration from 1.6 on.
    pub fn reports_binary_version(&self) -> bool {
        self.line() >= (1, 6)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

/// Restate's upgrade rule for moving a node to `target` in a cluster whose nodes run `running`
/// (each node's name and version, None when it does not report one): never skip a minor version,
/// roll back at most one minor (docs: "You must not skip minor version upgrades"). A node whose
/// version is unknown blocks the check: it may run the version the change would skip.
pub fn check_upgrade(target: &Version, running: &[(String, Option<Version>)]) -> Result<(), Error> {
    if let Some((node, _)) = running.iter().find(|(_, v)| v.is_none()) {
        return Err(Error::VersionUnknown {
            node: node.clone(),
            why: "the upgrade rule (never skip a minor version) cannot be checked against it",
        });
    }
    let versions: Vec<Version> = running.iter().filter_map(|(_, v)| *v).collect();
    let (Some(lowest), Some(highest)) = (versions.iter().min(), versions.iter().max()) else {
        return Ok(());
    };
    let next_line = (lowest.major, lowest.minor.saturating_add(1));
    if target.line() > next_line {
        return Err(Error::UpgradeSkipsMinor {
            target: *target,
            lowest: *lowest,
            next: format!("{}.{}", next_line.0, next_line.1),
        });
    }
    if target.major < highest.major
        || (target.major == highest.major && target.minor.saturating_add(1) < highest.minor)
    {
        return Err(Error::DowngradeTooFar {
            target: *target,
            highest: *highest,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_and_matches() {
        assert_eq!(
            v("1.7.12"),
            Version {
                major: 1,
                minor: 7,
                patch: Some(12)
            }
        );
        assert_eq!(v("v1.7.7-dev").patch, Some(7));
        for bad in ["1", "1.x", "1.7.1.2", "latest", "", "1.7.x"] {
            assert_eq!(
                Version::parse(bad),
                Err(Error::InvalidVersion(bad.into())),
                "{bad}"
            );
        }
        assert!(v("1.7").matches(&v("1.7.12")));
        assert!(v("1.7.12").matches(&v("1.7.12")));
        assert!(!v("1.7.11").matches(&v("1.7.12")));
        assert!(!v("1.6").matches(&v("1.7.12")));
    }

    #[test]
    fn renders_for_1_2_to_1_7() {
        assert_eq!(Version::renderable("1.7.12").unwrap().minor, 7);
        assert_eq!(Version::renderable("v1.2.2").unwrap().minor, 2);
        for unsupported in ["1.1", "1.8", "2.0"] {
            let e = Version::renderable(unsupported).unwrap_err().to_string();
            assert!(e.contains("1.2 to 1.7"), "{e}");
        }
        assert!(matches!(
            Version::renderable("latest"),
            Err(Error::InvalidVersion(_))
        ));
        assert!(v("1.3").has_metadata_server_type() && !v("1.4").has_metadata_server_type());
        assert!(!v("1.2.2").has_default_replication() && v("1.3").has_default_replication());
        assert!(!v("1.5.3").reports_binary_version() && v("1.6.2").reports_binary_version());
    }

    fn nodes(versions: &[&str]) -> Vec<(String, Option<Version>)> {
        versions
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("n{i}"), Version::parse(s).ok()))
            .collect()
    }

    #[test]
    fn a_node_of_unknown_version_blocks_the_upgrade_rule() {
        let e = check_upgrade(&v("1.7.0"), &nodes(&["1.6.2", ""])).unwrap_err();
        assert_eq!(
            e,
            Error::VersionUnknown {
                node: "n1".into(),
                why: "the upgrade rule (never skip a minor version) cannot be checked against it",
            }
        );
    }

    #[test]
    fn upgrades_one_minor_at_a_time() {
        let running = nodes(&["1.6.2", "1.7.12"]);
        assert!(check_upgrade(&v("1.7.12"), &running).is_ok());
        assert!(check_upgrade(&v("1.6.2"), &running).is_ok());
        let e = check_upgrade(&v("1.8.0"), &running)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("skip a minor version") && e.contains("1.6.2") && e.contains("1.7 first"),
            "{e}"
        );
        assert!(check_upgrade(&v("1.8.0"), &nodes(&["1.7.12"])).is_ok());
        let e = check_upgrade(&v("1.5.3"), &nodes(&["1.7.12"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("downgrade by more than one minor"), "{e}");
        assert!(check_upgrade(&v("1.6.0"), &nodes(&["1.7.12"])).is_ok());
        assert!(check_upgrade(&v("2.0.0"), &nodes(&["1.7.12"])).is_err());
        assert!(check_upgrade(&v("1.3.0"), &[]).is_ok());
    }
}
