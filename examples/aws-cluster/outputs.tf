output "nodes" {
  description = "The nodes as the cluster reports them."
  value       = { for n in data.restate_cluster_status.this.nodes : n.name => "N${n.node_id} ${n.alive ? "alive" : "dead"} ${n.location}" }
}

output "snapshot_bucket" {
  value = aws_s3_bucket.snapshots.bucket
}

output "ingress_urls" {
  value = [for n in local.nodes : "http://${n.private_ip}:8080"]
}
