//! Schema builders: attributes with markdown descriptions, and the schema wrapper every resource
//! and data source uses (version 0: tf-provider 0.2.2 cannot upgrade state, so schemas only grow).

use std::collections::HashMap;

use tf_provider::schema::{
    Attribute, AttributeConstraint, AttributeType, Block, Description, NestedBlock, Schema,
};

pub fn attr(ty: AttributeType, constraint: AttributeConstraint, text: &str) -> Attribute {
    Attribute {
        attr_type: ty,
        description: Description::markdown(text),
        constraint,
        sensitive: false,
        deprecated: false,
    }
}

pub fn required(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::Required, text)
}

pub fn optional(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::Optional, text)
}

pub fn optional_computed(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::OptionalComputed, text)
}

pub fn computed(ty: AttributeType, text: &str) -> Attribute {
    attr(ty, AttributeConstraint::Computed, text)
}

pub fn sensitive(mut a: Attribute) -> Attribute {
    a.sensitive = true;
    a
}

pub fn block(
    description: &str,
    attributes: Vec<(&str, Attribute)>,
    blocks: Vec<(&str, NestedBlock)>,
) -> Block {
    Block {
        version: 0,
        attributes: attributes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<HashMap<_, _>>(),
        blocks: blocks
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<HashMap<_, _>>(),
        description: Description::markdown(description),
        deprecated: false,
    }
}

pub fn schema(
    description: &str,
    attributes: Vec<(&str, Attribute)>,
    blocks: Vec<(&str, NestedBlock)>,
) -> Schema {
    Schema {
        version: 0,
        block: block(description, attributes, blocks),
    }
}

/// A `list(object)` whose fields are described in the attribute's own description (nested
/// attributes, which would carry field descriptions, are broken in tf-provider 0.2.2).
pub struct ObjectFields(pub Vec<(&'static str, AttributeType, &'static str)>);

impl ObjectFields {
    pub fn object_type(&self) -> AttributeType {
        AttributeType::Object(
            self.0
                .iter()
                .map(|(k, t, _)| (k.to_string(), t.clone()))
                .collect(),
        )
    }

    /// `intro`, then one line per field (`  - `name`: text`, which the docs generator reads), for
    /// a list of objects.
    pub fn describe(&self, intro: &str) -> String {
        self.describe_as(intro, "Each element has:")
    }

    /// Like [`describe`](Self::describe), for a single object.
    pub fn describe_object(&self, intro: &str) -> String {
        self.describe_as(intro, "It has:")
    }

    fn describe_as(&self, intro: &str, lead: &str) -> String {
        let mut text = format!("{intro} {lead}");
        for (name, _, what) in &self.0 {
            text.push_str(&format!("\n  - `{name}`: {what}"));
        }
        text
    }
}
