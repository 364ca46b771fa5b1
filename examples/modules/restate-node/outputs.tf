output "toml" {
  description = "The rendered restate.toml."
  value       = data.restate_node_config.this.toml
  sensitive   = true
}

output "environment" {
  description = "The same configuration as RESTATE_* environment variables."
  value       = data.restate_node_config.this.environment
  sensitive   = true
}

output "node" {
  description = "The node as the cluster reports it once it joined."
  value = {
    name           = restate_node.this.name
    node_id        = restate_node.this.node_id
    address        = restate_node.this.address
    roles          = restate_node.this.roles
    binary_version = restate_node.this.binary_version
  }
}
