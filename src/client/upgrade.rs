//! Restate's upgrade rule: never skip a minor version, and roll back at most one minor
//! (docs: "Upgrading": "You must not skip minor version upgrades").

use std::fmt;

/// A `major.minor[.patch]` version as nodes report it (`1.7.12`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BinaryVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: Option<u32>,
}

impl BinaryVersion {
    /// Parses `1.7`, `1.7.12`, `v1.7.12`, ignoring a pre-release or build suffix (`1.7.7-dev`).
    pub fn parse(text: &str) -> Option<Self> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        parts.next().is_none().then_some(BinaryVersion {
            major,
            minor,
            patch,
        })
    }

    /// Whether a node reporting `reported` satisfies this wanted version (`1.7` matches any 1.7.x).
    pub fn matches(&self, reported: &BinaryVersion) -> bool {
        self.major == reported.major
            && self.minor == reported.minor
            && self.patch.is_none_or(|p| Some(p) == reported.patch)
    }

    fn line(&self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

impl fmt::Display for BinaryVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

/// Checks moving a node to `target` in a cluster running `running` versions.
pub fn check_upgrade(target: &BinaryVersion, running: &[BinaryVersion]) -> Result<(), String> {
    let (Some(lowest), Some(highest)) = (running.iter().min(), running.iter().max()) else {
        return Ok(());
    };
    let next_line = (lowest.major, lowest.minor + 1);
    if target.line() > next_line {
        return Err(format!(
            "{target} would skip a minor version: the lowest version running in the cluster is {lowest}, and \
             Restate must not skip minor versions. Upgrade every node to {}.{} first.",
            next_line.0, next_line.1
        ));
    }
    if target.major < highest.major
        || (target.major == highest.major && target.minor + 1 < highest.minor)
    {
        return Err(format!(
            "{target} would downgrade by more than one minor version: the cluster runs {highest}, and Restate \
             supports rolling back only to the previous minor version."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> BinaryVersion {
        BinaryVersion::parse(s).unwrap()
    }

    #[test]
    fn parses_and_matches() {
        assert_eq!(
            v("1.7.12"),
            BinaryVersion {
                major: 1,
                minor: 7,
                patch: Some(12)
            }
        );
        assert_eq!(v("v1.7.7-dev").patch, Some(7));
        assert!(BinaryVersion::parse("1").is_none());
        assert!(BinaryVersion::parse("1.x").is_none());
        assert!(BinaryVersion::parse("1.7.1.2").is_none());
        assert!(v("1.7").matches(&v("1.7.12")));
        assert!(v("1.7.12").matches(&v("1.7.12")));
        assert!(!v("1.7.11").matches(&v("1.7.12")));
        assert!(!v("1.6").matches(&v("1.7.12")));
    }

    #[test]
    fn upgrades_one_minor_at_a_time() {
        let running = [v("1.6.2"), v("1.7.12")];
        assert!(check_upgrade(&v("1.7.12"), &running).is_ok());
        assert!(check_upgrade(&v("1.6.2"), &running).is_ok());
        let e = check_upgrade(&v("1.8.0"), &running).unwrap_err();
        assert!(
            e.contains("skip a minor version") && e.contains("1.6.2") && e.contains("1.7 first"),
            "{e}"
        );
        assert!(check_upgrade(&v("1.8.0"), &[v("1.7.12")]).is_ok());
        let e = check_upgrade(&v("1.5.3"), &[v("1.7.12")]).unwrap_err();
        assert!(e.contains("downgrade by more than one minor"), "{e}");
        assert!(check_upgrade(&v("1.6.0"), &[v("1.7.12")]).is_ok());
        assert!(check_upgrade(&v("2.0.0"), &[v("1.7.12")]).is_err());
        assert!(check_upgrade(&v("1.3.0"), &[]).is_ok());
    }
}
