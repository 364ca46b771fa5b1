//! A node's `location`: `region` or `region.zone`, what zone- and region-scoped replication count.

use super::error::Error;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location(String);

impl Location {
    /// A location as a user writes it; must be `region` or `region.zone`.
    pub fn parse(text: &str) -> Result<Location, Error> {
        let parts: Vec<&str> = text.split('.').collect();
        let ok = !text.is_empty()
            && parts.len() <= 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && !p.contains(char::is_whitespace));
        if ok {
            Ok(Location(text.to_string()))
        } else {
            Err(Error::InvalidLocation(text.to_string()))
        }
    }

    /// A location as a node reports it (empty when unset), taken as it is.
    pub fn reported(text: &str) -> Location {
        Location(text.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `region` of a `region.zone` location, if set.
    pub fn region(&self) -> Option<&str> {
        self.0.split('.').next().filter(|r| !r.is_empty())
    }

    /// `region.zone`, if the zone is set.
    pub fn zone(&self) -> Option<&str> {
        match self.0.split_once('.') {
            Some((_, z)) if !z.is_empty() => Some(self.0.as_str()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_region_and_zone() {
        assert!(Location::parse("us-east-1").is_ok());
        assert!(Location::parse("us-east-1.us-east-1a").is_ok());
        for bad in ["", "a.b.c", ".a", "a.", "a b"] {
            assert!(Location::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes() {
        let l = Location::reported("us-east-1.us-east-1a");
        assert_eq!(l.region(), Some("us-east-1"));
        assert_eq!(l.zone(), Some("us-east-1.us-east-1a"));
        let l = Location::reported("eu");
        assert_eq!((l.region(), l.zone()), (Some("eu"), None));
        let l = Location::reported("");
        assert_eq!((l.region(), l.zone()), (None, None));
    }
}
