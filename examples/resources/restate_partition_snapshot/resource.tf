resource "restate_partition_snapshot" "before_scale_out" {
  partition_ids = [0, 1, 2]       # optional; default: every partition in the partition table
  trim_log      = false           # optional: trim each log up to its snapshot
  triggers      = { nodes = "3" } # any change takes new snapshots (replacement)

  timeouts {
    create = "10m"
  }
}
