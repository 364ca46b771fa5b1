resource "restate_cluster_config" "this" {
  log_provider          = "replicated"
  log_replication       = "2" # or "{node: 2}", "{zone: 2, node: 3}"
  partition_replication = "2"
  log_nodeset_size      = 0  # automatic
  num_partitions        = 24 # used only when provisioning
  provision             = false
  wait_for_logs         = true
  skip_safety_checks    = false

  timeouts {
    create = "10m"
    update = "10m"
  }
}
