//! The `tls` block of `restate_node_config`: a node's `[tls]` section, checked by the domain's
//! rules (version, client authentication, advertised scheme) before it is rendered.

use serde::{Deserialize, Serialize};
use tf_provider::schema::{AttributeType, NestedBlock};
use tf_provider::value::Value;
use tf_provider::{AttributePath, Diagnostics};

use crate::domain::tls::{self, FabricTlsSettings, TlsMode};
use crate::domain::Version;
use crate::render::TlsSpec;
use crate::tf::diag;
use crate::tf::schema::{block, optional, required};
use crate::tf::value::{known_str, known_vec};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tls {
    pub mode: Value<String>,
    pub cert_file: Value<String>,
    pub key_file: Value<String>,
    pub ca_files: Value<Vec<Value<String>>>,
    pub require_client_auth: Value<bool>,
    pub allowed_subject_names: Value<Vec<Value<String>>>,
}

fn at(attribute: &'static str) -> AttributePath {
    AttributePath::new("tls").index(0).attribute(attribute)
}

/// Reports what the node would refuse, or what would cut it off from its peers.
pub fn check(
    diags: &mut Diagnostics,
    t: &Tls,
    version: Option<&Version>,
    advertised: &Value<String>,
) {
    let mode = match &t.mode {
        Value::Value(m) => match TlsMode::parse(m) {
            Ok(mode) => Some(mode),
            Err(e) => {
                diag::input(diags, at("mode"), "mode", &e);
                return;
            }
        },
        _ => None,
    };
    let Some(version) = version else { return };
    let names = known_vec(&t.allowed_subject_names);
    let settings = FabricTlsSettings {
        mode,
        require_client_auth: t.require_client_auth.as_option(),
        allowed_subject_names: match &t.allowed_subject_names {
            Value::Null => Some(&[]),
            _ => names.as_deref(),
        },
        advertised_address: if advertised.is_unknown() {
            None
        } else {
            known_str(advertised)
        },
    };
    for (attribute, e) in tls::fabric_tls(version, &settings) {
        diag::input(diags, at(attribute), attribute, &e);
    }
}

/// The section to render, once every value is known.
pub fn spec(t: &Tls) -> Option<TlsSpec> {
    Some(TlsSpec {
        mode: TlsMode::parse(known_str(&t.mode)?).ok()?,
        cert_file: known_str(&t.cert_file)?.to_string(),
        key_file: known_str(&t.key_file)?.to_string(),
        ca_files: known_vec(&t.ca_files)?,
        require_client_auth: t.require_client_auth.as_option(),
        allowed_subject_names: match &t.allowed_subject_names {
            Value::Null => None,
            v => Some(known_vec(v)?),
        },
    })
}

pub fn tls_block() -> NestedBlock {
    use AttributeType::{Bool, List, String as Str};
    NestedBlock::Optional(block(
        "TLS on the fabric port (`[tls]`, Restate 1.7.3 and later), for peers and for this provider's \
         `https://` endpoints. Roll a cluster forward one mode at a time on every node: `off` → \
         `allow` → `prefer` → `require`.",
        vec![
            (
                "mode",
                required(
                    Str,
                    "`mode`: `off`, `allow` (certificates loaded, plaintext advertised), `prefer` \
                     (an `https://` advertised address) or `require` (TLS only; needs an \
                     `https://` `advertised_address`).",
                ),
            ),
            (
                "cert_file",
                required(Str, "`cert-file`: path of the node's PEM certificate on the node."),
            ),
            (
                "key_file",
                required(Str, "`key-file`: path of the node's PEM private key on the node."),
            ),
            (
                "ca_files",
                required(
                    List(Box::new(Str)),
                    "`ca-files`: paths of PEM CA certificates that sign peers' (and clients') \
                     certificates.",
                ),
            ),
            (
                "require_client_auth",
                optional(
                    Bool,
                    "`require-client-auth`: accept only clients with a certificate signed by a CA \
                     in `ca_files` (mTLS; give the provider's `tls` block a client certificate). \
                     Needs `allowed_subject_names`.",
                ),
            ),
            (
                "allowed_subject_names",
                optional(
                    List(Box::new(Str)),
                    "`allowed-subject-names`: glob patterns matched against peer certificates' \
                     CN and DNS/URI names (`[\"*\"]` = any certificate the CA signed).",
                ),
            ),
        ],
        vec![],
    ))
}
