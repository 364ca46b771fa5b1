output "nodes" {
  description = "Every node as the cluster reports it."
  value = merge(
    { for m in module.n1 : "n1" => m.node },
    { for m in module.n2 : "n2" => m.node },
    { for m in module.n3 : "n3" => m.node },
    { for m in module.n4 : "n4" => m.node },
    { for m in module.n5 : "n5" => m.node },
  )
}

output "cluster" {
  description = "The cluster's configuration and logs."
  value = {
    name   = data.restate_cluster_status.this.cluster_name
    config = data.restate_cluster_status.this.config
  }
}
