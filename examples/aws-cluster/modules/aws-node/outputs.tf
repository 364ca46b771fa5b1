output "node" {
  description = "The node as the cluster reports it."
  value       = module.restate.node
}

output "instance_id" {
  value = aws_instance.this.id
}
