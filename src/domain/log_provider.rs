//! The log provider (Bifrost's default provider kind).

use std::fmt;

use super::error::Error;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogProvider {
    Local,
    Replicated,
    /// A kind this provider does not manage (`in-memory`, or a newer server's), as reported.
    Other(String),
}

impl LogProvider {
    /// The kinds a user may configure.
    pub const CONFIGURABLE: [&'static str; 2] = ["local", "replicated"];

    /// A provider as a user writes it: `local` or `replicated`.
    pub fn parse(text: &str) -> Result<LogProvider, Error> {
        match text {
            "local" => Ok(LogProvider::Local),
            "replicated" => Ok(LogProvider::Replicated),
            other => Err(Error::UnknownLogProvider(other.to_string())),
        }
    }

    /// A provider as the server reports it.
    pub fn reported(text: &str) -> LogProvider {
        LogProvider::parse(text).unwrap_or_else(|_| LogProvider::Other(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            LogProvider::Local => "local",
            LogProvider::Replicated => "replicated",
            LogProvider::Other(s) => s,
        }
    }
}

impl fmt::Display for LogProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
