data "restate_cluster_status" "this" {
  # In the configuration that changes the cluster, read it after the change:
  # depends_on = [restate_cluster_config.this]
}

output "log_providers" {
  value = { for l in data.restate_cluster_status.this.logs : l.log_id => "${l.provider} ${l.replication}" }
}
