//! Go-style durations ("10s", "5m", "1h30m", "500ms"), as Terraform users write them.

use std::time::Duration;

/// The longest duration accepted: longer ones are certainly mistakes, and bounding them keeps
/// every deadline computation far from overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim()).map_err(|e| {
        format!("\"{text}\" is not a duration ({e}); write it like \"30s\", \"10m\" or \"1h30m\"")
    })?;
    if d.is_zero() {
        return Err(format!("\"{text}\" is zero; give a positive duration"));
    }
    if d > MAX_DURATION {
        return Err(format!(
            "\"{text}\" is longer than the maximum of {}",
            humantime::format_duration(MAX_DURATION)
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("10").unwrap_err().contains("not a duration"));
        assert!(parse_duration("soon").unwrap_err().contains("\"30s\""));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(parse_duration("10000000000000000000s").is_err());
        assert!(parse_duration("8d")
            .unwrap_err()
            .contains("maximum of 7days"));
    }
}
