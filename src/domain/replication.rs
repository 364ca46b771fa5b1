//! Restate's replication property: `"2"`, `"{node: 2}"`, `"{zone: 2, node: 3}"`.
//!
//! Parsed with the same rules the server applies (scopes `node`, `zone`, `region`, case-insensitive,
//! factors 1..=255, a wider scope may not ask for more copies than a narrower one), so that a value
//! the server would reject is caught at plan time.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use super::error::ReplicationError;

/// Location scopes, narrowest first (the order the server prints them in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Node,
    Zone,
    Region,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Node => "node",
            Scope::Zone => "zone",
            Scope::Region => "region",
        }
    }

    fn parse(s: &str) -> Option<Scope> {
        match s.to_ascii_lowercase().as_str() {
            "node" => Some(Scope::Node),
            "zone" => Some(Scope::Zone),
            "region" => Some(Scope::Region),
            _ => None,
        }
    }
}

/// A parsed replication property: copies required per scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replication(BTreeMap<Scope, u8>);

impl Replication {
    pub fn nodes(n: u8) -> Self {
        Replication(BTreeMap::from([(Scope::Node, n)]))
    }

    /// Total copies: the factor of the narrowest scope given.
    pub fn copies(&self) -> u8 {
        self.0.values().next().copied().unwrap_or(0)
    }

    /// Distinct zones / regions required, for the scopes that are set.
    pub fn scopes(&self) -> impl Iterator<Item = (Scope, u8)> + '_ {
        self.0.iter().map(|(s, f)| (*s, *f))
    }

    /// Builds from the JSON map the server stores in replicated loglet params (`{"node": 2}`).
    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::Number(n) => u8::try_from(n.as_u64()?).ok().map(Self::nodes),
            serde_json::Value::Object(map) => {
                let mut scopes = BTreeMap::new();
                for (k, v) in map {
                    scopes.insert(Scope::parse(k)?, u8::try_from(v.as_u64()?).ok()?);
                }
                (!scopes.is_empty()).then_some(Replication(scopes))
            }
            _ => None,
        }
    }

    /// The shortest spelling: `"3"` when only the node scope is set, else `{node: 3, zone: 2}`.
    pub fn canonical(&self) -> String {
        match self.0.iter().collect::<Vec<_>>().as_slice() {
            [(Scope::Node, n)] => n.to_string(),
            _ => self.to_string(),
        }
    }

    /// Whether `self` asks for fewer copies than `other` at any scope `other` sets (a scope
    /// `self` does not set counts as no requirement there).
    pub fn lower_than(&self, other: &Replication) -> bool {
        other
            .0
            .iter()
            .any(|(scope, n)| self.0.get(scope).copied().unwrap_or(0) < *n)
    }

    /// A replication as a user writes it: the server's syntax, without surrounding spaces (the
    /// value would be stored, and compared, as written).
    pub fn parse_input(text: &str) -> Result<Replication, super::error::Error> {
        let refused = |source| super::error::Error::Replication {
            input: text.to_string(),
            source,
        };
        if text.trim() != text && !text.trim().is_empty() {
            return Err(refused(ReplicationError::SurroundingSpaces {
                trimmed: text.trim().to_string(),
            }));
        }
        text.parse().map_err(refused)
    }

    /// True when both strings parse and mean the same property.
    pub fn same(a: &str, b: &str) -> bool {
        matches!((a.parse::<Replication>(), b.parse::<Replication>()), (Ok(x), Ok(y)) if x == y)
    }

    /// The JSON form the server stores in replicated loglet params (`{"node": 2}`).
    pub fn to_json(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|(s, n)| (s.as_str().to_string(), serde_json::Value::from(*n)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    }
}

impl fmt::Display for Replication {
    /// The server's own spelling: `{node: 3, zone: 2}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(s, n)| format!("{}: {n}", s.as_str()))
            .collect();
        write!(f, "{{{}}}", parts.join(", "))
    }
}

fn factor(text: &str, scope: Option<Scope>) -> Result<u8, ReplicationError> {
    let n: u64 = text.parse().map_err(|_| ReplicationError::NotANumber {
        scope,
        text: text.to_string(),
    })?;
    match u8::try_from(n) {
        Ok(0) => Err(ReplicationError::NoCopies { scope }),
        Ok(n) => Ok(n),
        Err(_) => Err(ReplicationError::TooManyCopies { scope, copies: n }),
    }
}

impl FromStr for Replication {
    type Err = ReplicationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ReplicationError::Empty);
        }
        if !s.starts_with('{') {
            return factor(s, None).map(Replication::nodes);
        }
        let inner = s
            .strip_prefix('{')
            .and_then(|r| r.strip_suffix('}'))
            .ok_or_else(|| ReplicationError::MissingBrace {
                text: s.to_string(),
            })?;
        let mut scopes = BTreeMap::new();
        for part in inner.split(',') {
            let (name, count) =
                part.split_once(':')
                    .ok_or_else(|| ReplicationError::NotScopeAndCopies {
                        part: part.trim().to_string(),
                    })?;
            let scope = Scope::parse(name.trim())
                .ok_or_else(|| ReplicationError::UnknownScope(name.trim().to_string()))?;
            let n = factor(count.trim(), Some(scope))?;
            if scopes.insert(scope, n).is_some() {
                return Err(ReplicationError::ScopeTwice(scope));
            }
        }
        // A wider scope cannot require more copies than a narrower one ({zone: 3, node: 2} is invalid).
        let ordered: Vec<(Scope, u8)> = scopes.iter().map(|(s, n)| (*s, *n)).collect();
        for pair in ordered.windows(2) {
            let ((narrow, n), (wide, w)) = (pair[0], pair[1]);
            if w > n {
                return Err(ReplicationError::WiderScopeNeedsMore {
                    wide,
                    copies: w,
                    narrow,
                    required: n,
                });
            }
        }
        Ok(Replication(scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_spellings_the_server_accepts() {
        for (input, canonical) in [
            ("1", "1"),
            ("2", "2"),
            (" 3 ", "3"),
            ("{node: 2}", "2"),
            ("{NODE:2}", "2"),
            ("{zone: 2}", "{zone: 2}"),
            ("{zone: 2, node: 3}", "{node: 3, zone: 2}"),
            ("{node: 5,  ZONE: 2}", "{node: 5, zone: 2}"),
            (
                "{region: 2, zone: 2, node: 3}",
                "{node: 3, zone: 2, region: 2}",
            ),
            ("255", "255"),
        ] {
            let r: Replication = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.canonical(), canonical, "{input}");
        }
    }

    #[test]
    fn rejects_what_the_server_rejects() {
        for (input, needle) in [
            ("0", "at least 1"),
            ("abc", "not a whole number"),
            ("", "must not be empty"),
            ("256", "maximum of 255"),
            ("{}", "is not \"scope: copies\""),
            ("{node: 0}", "at least 1"),
            ("{rack: 2}", "unknown scope \"rack\""),
            ("{node: 2", "closing brace"),
            ("{node: 2, node: 3}", "given twice"),
            ("{zone: 3, node: 2}", "3 copies across zones"),
            ("{node: -1}", "not a whole number"),
            ("1.5", "not a whole number"),
        ] {
            let err = input.parse::<Replication>().expect_err(input);
            assert!(err.to_string().contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn user_input_has_no_surrounding_spaces() {
        let e = Replication::parse_input(" 2").unwrap_err().to_string();
        assert!(
            e.contains("surrounding spaces") && e.contains("write \"2\""),
            "{e}"
        );
        assert!(Replication::parse_input("{node: 2}").is_ok());
        assert!(Replication::parse_input("  ")
            .unwrap_err()
            .to_string()
            .contains("must not be empty"));
    }

    #[test]
    fn compares_by_meaning() {
        assert!(Replication::same("2", "{node: 2}"));
        assert!(Replication::same(
            "{zone: 2, node: 3}",
            "{node: 3, zone: 2}"
        ));
        assert!(!Replication::same("2", "3"));
        assert!(!Replication::same("2", "{zone: 2}"));
        assert!(!Replication::same("x", "x"));
    }

    #[test]
    fn reads_the_json_form_stored_in_loglet_params() {
        let j: serde_json::Value = serde_json::json!({"node": 2, "zone": 1});
        assert_eq!(
            Replication::from_json(&j).unwrap().to_string(),
            "{node: 2, zone: 1}"
        );
        assert_eq!(
            Replication::from_json(&serde_json::json!(3))
                .unwrap()
                .canonical(),
            "3"
        );
        assert!(Replication::from_json(&serde_json::json!({"rack": 1})).is_none());
    }

    #[test]
    fn lower_means_fewer_copies_at_some_scope() {
        let r = |s: &str| s.parse::<Replication>().unwrap();
        assert!(r("1").lower_than(&r("2")));
        assert!(!r("2").lower_than(&r("2")));
        assert!(!r("3").lower_than(&r("2")));
        assert!(r("{node: 3}").lower_than(&r("{zone: 2, node: 3}")));
        assert!(!r("{zone: 2, node: 3}").lower_than(&r("{node: 3}")));
    }

    #[test]
    fn counts_copies_from_the_narrowest_scope() {
        assert_eq!(
            "{zone: 2, node: 3}"
                .parse::<Replication>()
                .unwrap()
                .copies(),
            3
        );
        assert_eq!("{zone: 2}".parse::<Replication>().unwrap().copies(), 2);
    }
}
