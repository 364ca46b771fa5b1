data "restate_cluster_status" "this" {
  depends_on = [restate_cluster_config.this]
}

output "log_providers" {
  value = { for l in data.restate_cluster_status.this.logs : l.log_id => "${l.provider} ${l.replication}" }
}
