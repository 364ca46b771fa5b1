output "node" {
  description = "The node as the cluster reports it."
  value       = module.restate.node
}

output "instance_id" {
  description = "The instance: what the cluster's provisioning waits for (never the node's own wait)."
  value       = aws_instance.this.id
}
