//! A node's fabric address: an http(s) URL with a host and an optional port, nothing else.

use std::fmt;

use super::error::Error;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint(String);

impl Endpoint {
    /// Checks an endpoint string; the result has no trailing slash.
    pub fn parse(raw: &str) -> Result<Endpoint, Error> {
        let fail = |problem: &str| Error::InvalidEndpoint {
            value: raw.to_string(),
            problem: problem.to_string(),
        };
        let text = raw.trim();
        let scheme = ["http://", "https://"]
            .into_iter()
            .find(|s| text.starts_with(s))
            .ok_or_else(|| {
                let lower = text.to_ascii_lowercase();
                if lower.starts_with("http://") || lower.starts_with("https://") {
                    fail("its scheme must be written in lowercase: http:// or https://")
                } else if text.contains("://") {
                    fail(
                        "it must start with http:// or https:// (for example http://10.0.0.1:5122)",
                    )
                } else {
                    fail(&format!(
                        "it must start with http:// or https://: http://{text}"
                    ))
                }
            })?;
        let rest = text[scheme.len()..].trim_end_matches('/');
        if rest.contains('@') {
            return Err(fail(
                "it must not carry a user name or password: the admin API takes none",
            ));
        }
        if rest.is_empty() || rest.starts_with(':') {
            return Err(fail("it has no host"));
        }
        if rest.contains(['/', '?', '#']) {
            return Err(fail(
                "it must be only scheme, host and port, without a path, query or fragment",
            ));
        }
        let port = match rest.strip_prefix('[') {
            Some(v6) => v6.split_once(']').and_then(|(_, p)| p.strip_prefix(':')),
            None => rest.split_once(':').map(|(_, p)| p),
        };
        match port {
            None => {
                return Err(fail(&format!(
                    "it has no port; write the node's fabric port, by default 5122: {scheme}{rest}:5122"
                )))
            }
            Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() => {
                return Err(fail(&format!("\"{p}\" is not a port number")));
            }
            Some(_) => {}
        }
        let url = format!("{scheme}{rest}");
        let uri = url
            .parse::<http::Uri>()
            .map_err(|e| fail(&format!("it is not a valid URL: {e}")))?;
        // What a connection uses is the URI's host and port: they must be all of what was written.
        if uri.authority().map(|a| a.as_str()) != Some(rest) || uri.port_u16().is_none() {
            return Err(fail(
                "it is not a valid URL: it does not read as host and port",
            ));
        }
        Ok(Endpoint(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(raw: &str) -> String {
        match Endpoint::parse(raw) {
            Err(Error::InvalidEndpoint { problem, .. }) => problem,
            other => panic!("{raw}: {other:?}"),
        }
    }

    #[test]
    fn endpoints_must_be_http_urls() {
        let ok = |raw: &str| Endpoint::parse(raw).unwrap().to_string();
        assert_eq!(ok("http://127.0.0.1:5122/"), "http://127.0.0.1:5122");
        assert_eq!(ok("https://n1.example:5122"), "https://n1.example:5122");
        assert_eq!(ok("http://[::1]:5122"), "http://[::1]:5122");
        assert!(problem("127.0.0.1:5122").contains("http://"));
        assert!(problem("http://").contains("no host"));
        assert!(problem("http://h:5122/x").contains("without a path"));
        assert!(problem("http://h:notaport").contains("not a port"));
        assert!(problem("http://10.0.0.1").contains("no port"));
        assert!(problem("HTTP://10.0.0.1:5122").contains("lowercase"));
        assert!(problem("http://admin:secret@10.0.0.1:5122").contains("user name"));
        // Found by fuzzing (fuzz/, src/fuzzing.rs): the URI read `#1:5122` as a fragment, and the
        // endpoint was accepted as host 127.0.0 without a port.
        assert!(problem("http://127.0.0#1:5122").contains("without a path, query or fragment"));
        assert!(problem("http://h?:5122").contains("without a path, query or fragment"));
        assert!(problem("http://h:+5122").contains("not a port"));
    }
}
