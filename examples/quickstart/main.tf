# Quickstart: take a freshly started Restate node (auto-provision = false) and provision it as a
# cluster on the replicated log provider, with one copy of each log and partition.
#
# Run it with `examples/quickstart/run.sh`: it builds the provider, starts the node of restate.toml
# (data in a temporary directory) in a private network namespace, applies this configuration,
# prints what restatectl reports, and stops the node. With a node of your own, point `endpoint` at
# its fabric port and `terraform apply` with the provider installed as the README describes.

terraform {
  required_providers {
    restate = {
      source = "terraform-provider-restate/restate"
    }
  }
}

variable "endpoint" {
  description = "Fabric (gRPC) address of a Restate node."
  type        = string
  default     = "http://127.0.0.1:5122"
}

variable "cluster_name" {
  description = "The cluster-name the node was started with."
  type        = string
  default     = "quickstart"
}

provider "restate" {
  endpoints    = [var.endpoint]
  cluster_name = var.cluster_name
}

resource "restate_cluster_config" "this" {
  provision       = true
  num_partitions  = 4
  log_provider    = "replicated"
  log_replication = "1"

  timeouts {
    create = "5m"
  }
}

output "cluster" {
  value = {
    name                  = restate_cluster_config.this.cluster_name
    log_provider          = restate_cluster_config.this.log_provider
    log_replication       = restate_cluster_config.this.log_replication
    partition_replication = restate_cluster_config.this.partition_replication
    num_partitions        = restate_cluster_config.this.num_partitions
  }
}
