//! The provider's log lines in Terraform's log. Terraform reads a plugin's stderr and keeps the
//! level of lines written as hclog JSON (`{"@level":"debug","@message":...}`); other lines all
//! become DEBUG. So each event is written as one such line, at its level, when `TF_LOG_PROVIDER`
//! (or `TF_LOG`) asks for it; with neither set nothing is written.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// Events of this crate are written; other crates' only from WARN up (tonic, h2 and tf-provider's
/// own request tracing would drown them).
const OWN_TARGET: &str = "terraform_provider_restate";

/// The level Terraform asks for: `TF_LOG_PROVIDER_RESTATE`, `TF_LOG_PROVIDER`, then `TF_LOG`.
pub fn requested_level(get: impl Fn(&str) -> Option<String>) -> LevelFilter {
    let value = ["TF_LOG_PROVIDER_RESTATE", "TF_LOG_PROVIDER", "TF_LOG"]
        .iter()
        .find_map(|name| get(name).filter(|v| !v.trim().is_empty()));
    match value.map(|v| v.trim().to_ascii_uppercase()).as_deref() {
        None | Some("OFF") => LevelFilter::OFF,
        Some("ERROR") => LevelFilter::ERROR,
        Some("WARN") => LevelFilter::WARN,
        Some("INFO") => LevelFilter::INFO,
        Some("DEBUG") => LevelFilter::DEBUG,
        // TRACE, JSON, or anything else Terraform also reads as "everything".
        Some(_) => LevelFilter::TRACE,
    }
}

/// Installs the hclog-JSON writer on stderr, unless no log is asked for or tf-provider installs
/// its own (`PLUGIN_LOG_FILE`: its global subscriber would then fail to install).
pub fn init() {
    let level = requested_level(|name| std::env::var(name).ok());
    if level == LevelFilter::OFF || std::env::var_os("PLUGIN_LOG_FILE").is_some() {
        return;
    }
    let subscriber = tracing_subscriber::registry().with(HclogLayer { level });
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct HclogLayer {
    level: LevelFilter,
}

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        let limit = if metadata.target().starts_with(OWN_TARGET) {
            self.level
        } else {
            self.level.min(LevelFilter::WARN)
        };
        *metadata.level() <= limit
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let line = hclog_line(event);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}

/// One event as an hclog JSON line.
fn hclog_line(event: &Event<'_>) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut out = Map::new();
    out.insert(
        "@level".into(),
        Value::from(level_name(*event.metadata().level())),
    );
    out.insert("@message".into(), Value::from(fields.message));
    out.insert(
        "@module".into(),
        Value::from(format!("restate.{}", module_of(event.metadata().target()))),
    );
    out.insert(
        "@timestamp".into(),
        Value::from(humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()),
    );
    out.extend(fields.others);
    Value::Object(out).to_string()
}

fn module_of(target: &str) -> &str {
    target
        .strip_prefix(OWN_TARGET)
        .map(|t| t.trim_start_matches("::"))
        .filter(|t| !t.is_empty())
        .unwrap_or(target)
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    others: Map<String, Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.others.insert(field.name().into(), Value::from(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.others.insert(field.name().into(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.others.insert(field.name().into(), Value::from(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let v = u64::try_from(value).map_or_else(|_| Value::from(value.to_string()), Value::from);
        self.others.insert(field.name().into(), v);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.others.insert(field.name().into(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        if field.name() == "message" {
            self.message.push_str(&text);
        } else {
            self.others.insert(field.name().into(), Value::from(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_follows_terraforms_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(requested_level(env(&[])), LevelFilter::OFF);
        assert_eq!(
            requested_level(env(&[("TF_LOG", "debug")])),
            LevelFilter::DEBUG
        );
        assert_eq!(
            requested_level(env(&[("TF_LOG", "trace"), ("TF_LOG_PROVIDER", "INFO")])),
            LevelFilter::INFO
        );
        assert_eq!(
            requested_level(env(&[("TF_LOG", "json")])),
            LevelFilter::TRACE
        );
        assert_eq!(
            requested_level(env(&[
                ("TF_LOG_PROVIDER_RESTATE", "error"),
                ("TF_LOG", "debug")
            ])),
            LevelFilter::ERROR
        );
    }

    #[test]
    fn events_become_hclog_json_lines() {
        use std::sync::{Arc, Mutex};
        let lines = Arc::new(Mutex::new(Vec::new()));
        struct Capture(Arc<Mutex<Vec<String>>>);
        impl<S: Subscriber> Layer<S> for Capture {
            fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
                self.0.lock().unwrap().push(hclog_line(event));
            }
        }
        let subscriber = tracing_subscriber::registry().with(Capture(lines.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(
                endpoint = "http://n1:5122",
                elapsed_ms = 3u64,
                "RPC GetIdent: OK"
            );
        });
        let lines = lines.lock().unwrap();
        let v: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(v["@level"], "debug");
        assert_eq!(v["@message"], "RPC GetIdent: OK");
        assert_eq!(v["@module"], "restate.logging::tests");
        assert_eq!(v["endpoint"], "http://n1:5122");
        assert_eq!(v["elapsed_ms"], 3);
    }
}
