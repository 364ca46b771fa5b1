//! Go-style durations ("10s", "5m", "1h30m", "500ms"), as Terraform users write them.

use std::time::Duration;

/// The longest duration accepted: longer ones are certainly mistakes, and bounding them keeps
/// every deadline computation far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a duration was refused; the text is shown to the user as is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error(
        "\"{text}\" is not a duration ({reason}); write it like \"30s\", \"10m\" or \"1h30m\""
    )]
    NotADuration { text: String, reason: String },
    #[error("\"{0}\" is zero; give a positive duration")]
    Zero(String),
    #[error("\"{0}\" is longer than the maximum of {max}", max = humantime::format_duration(MAX_DURATION))]
    TooLong(String),
}

/// A positive Go-style duration of at most [`MAX_DURATION`].
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| DurationError::NotADuration {
        text: text.to_string(),
        reason: e.to_string(),
    })?;
    if d.is_zero() {
        return Err(DurationError::Zero(text.to_string()));
    }
    if d > MAX_DURATION {
        return Err(DurationError::TooLong(text.to_string()));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(parse("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert!(matches!(
            parse("10"),
            Err(DurationError::NotADuration { .. })
        ));
        assert!(parse("10")
            .unwrap_err()
            .to_string()
            .contains("not a duration"));
        assert!(parse("soon").unwrap_err().to_string().contains("\"30s\""));
        assert_eq!(parse("0s"), Err(DurationError::Zero("0s".into())));
        assert!(parse("10000000000000000000s").is_err());
        assert_eq!(parse("8d"), Err(DurationError::TooLong("8d".into())));
        assert!(parse("8d")
            .unwrap_err()
            .to_string()
            .contains("maximum of 7days"));
    }
}
