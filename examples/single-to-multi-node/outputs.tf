output "cluster" {
  # What each stage changes. Leaders, LSNs and nodesets move on their own after an apply (Restate
  # rebalances and extends nodesets in the background), so they are left out: every plan would
  # show them as a diff. The whole status is in data.restate_cluster_status.this.
  description = "What the cluster reports after this stage."
  value = {
    name   = data.restate_cluster_status.this.cluster_name
    config = data.restate_cluster_status.this.config
    nodes  = { for n in data.restate_cluster_status.this.nodes : n.name => "N${n.node_id} [${join(", ", n.roles)}]" }
    logs   = { for l in data.restate_cluster_status.this.logs : tostring(l.log_id) => "${l.provider}${l.replication == null ? "" : " ${l.replication}"}" }
  }
}

# Stage 3, the guide's "verify": every log is on the replicated loglet with the configured replication.
output "logs_replicated" {
  value = var.stage >= 3 ? alltrue([for l in data.restate_cluster_status.this.logs : l.provider == "replicated"]) : null
  precondition {
    condition     = var.stage < 3 || alltrue([for l in data.restate_cluster_status.this.logs : l.provider == "replicated" && l.replication == local.replication])
    error_message = "Not every log runs on the replicated loglet with replication ${local.replication}: check restatectl logs list."
  }
}

output "snapshots" {
  description = "The snapshot of every partition taken before new nodes joined (stage 4)."
  value       = var.stage >= 4 ? { for s in restate_partition_snapshot.before_scale_out[0].snapshots : tostring(s.partition_id) => s.snapshot_id } : null
}

output "endpoints" {
  description = "Ports of the local nodes."
  value = {
    for n, p in local.ports : n => {
      fabric  = "http://127.0.0.1:${p.fabric}"
      admin   = "http://127.0.0.1:${p.admin}"
      ingress = "http://127.0.0.1:${p.ingress}"
    }
  }
}
