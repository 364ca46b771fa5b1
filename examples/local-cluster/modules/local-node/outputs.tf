output "machine_id" {
  description = "The process's id in Terraform: what the cluster's provisioning waits for (never the node's own wait)."
  value       = terraform_data.machine.id
}

output "node" {
  description = "The node as the cluster reports it."
  value       = module.restate.node
}
