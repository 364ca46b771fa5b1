//! Node roles. Restate 1.2 calls the metadata role `metadata-store`; it is read as
//! `metadata-server` everywhere and written back in 1.2's spelling only when rendering for 1.2.

use std::fmt;

use super::error::Error;
use super::version::Version;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Worker,
    Admin,
    MetadataServer,
    LogServer,
    HttpIngress,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Worker,
        Role::Admin,
        Role::MetadataServer,
        Role::LogServer,
        Role::HttpIngress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Worker => "worker",
            Role::Admin => "admin",
            Role::MetadataServer => "metadata-server",
            Role::LogServer => "log-server",
            Role::HttpIngress => "http-ingress",
        }
    }

    /// A role as a user writes it. `metadata-store` is refused with a hint: the configuration is
    /// written for a version, and the renderer spells the role for it.
    pub fn parse(text: &str) -> Result<Role, Error> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == text)
            .ok_or_else(|| Error::UnknownRole(text.to_string()))
    }

    /// A role as a node reports it, in any version's spelling; None for a role this provider does
    /// not know (a newer server's).
    pub fn from_reported(text: &str) -> Option<Role> {
        match text {
            "metadata-store" => Some(Role::MetadataServer),
            other => Role::parse(other).ok(),
        }
    }

    /// The spelling `version` reads in `roles`.
    pub fn spelled_for(self, version: &Version) -> &'static str {
        match self {
            Role::MetadataServer if version.minor <= 2 && version.major == 1 => "metadata-store",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's roles as the user lists them: at least one, each known.
pub fn parse_roles(roles: &[String]) -> Result<Vec<Role>, Error> {
    if roles.is_empty() {
        return Err(Error::NoRoles);
    }
    roles.iter().map(|r| Role::parse(r)).collect()
}

/// "worker, admin, ..." for messages.
pub fn names() -> String {
    Role::ALL.map(Role::as_str).join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_must_be_known_and_present() {
        assert_eq!(
            parse_roles(&["worker".into(), "log-server".into()]).unwrap(),
            [Role::Worker, Role::LogServer]
        );
        assert_eq!(parse_roles(&[]).unwrap_err(), Error::NoRoles);
        let e = parse_roles(&["ingress".into()]).unwrap_err();
        assert_eq!(e, Error::UnknownRole("ingress".into()));
        assert!(e.to_string().contains("choose from worker, admin"), "{e}");
        let e = Role::parse("metadata-store").unwrap_err().to_string();
        assert!(e.contains("write metadata-server"), "{e}");
    }

    #[test]
    fn reported_roles_accept_the_1_2_alias() {
        assert_eq!(
            Role::from_reported("metadata-store"),
            Some(Role::MetadataServer)
        );
        assert_eq!(Role::from_reported("log-server"), Some(Role::LogServer));
        assert_eq!(Role::from_reported("future-role"), None);
        let v12 = Version::parse("1.2").unwrap();
        let v13 = Version::parse("1.3.2").unwrap();
        assert_eq!(Role::MetadataServer.spelled_for(&v12), "metadata-store");
        assert_eq!(Role::MetadataServer.spelled_for(&v13), "metadata-server");
        assert_eq!(Role::Worker.spelled_for(&v12), "worker");
    }
}
