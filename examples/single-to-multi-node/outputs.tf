output "cluster" {
  # Only what a stage changes: leaders and LSNs move on their own and would make every plan show
  # a diff (see data.restate_cluster_status.this.partitions for them).
  description = "What the cluster reports after this stage."
  value = {
    name       = data.restate_cluster_status.this.cluster_name
    config     = data.restate_cluster_status.this.config
    nodes      = { for n in data.restate_cluster_status.this.nodes : n.name => "N${n.node_id} ${n.alive ? "alive" : "dead"} [${join(", ", n.roles)}] log-server ${n.log_server_storage_state}" }
    logs       = { for l in data.restate_cluster_status.this.logs : tostring(l.log_id) => "${l.provider}${l.replication == null ? "" : " ${l.replication}"} nodeset [${join(", ", [for n in l.nodeset : "N${n}"])}]" }
    partitions = { for p in data.restate_cluster_status.this.partitions : tostring(p.partition_id) => "leader ${p.leader_node_id == null ? "-" : "N${p.leader_node_id}"}, replicas [${join(", ", [for n in p.replica_set : "N${n}"])}], archived LSN ${p.archived_lsn == null ? "-" : p.archived_lsn}" }
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
