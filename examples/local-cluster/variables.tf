variable "nodes" {
  description = "The nodes' names (n1 to n5, the names this example has ports for). Add one to add a node; delete one to remove it from the cluster (refused when the others could not do without it)."
  type        = list(string)
  default     = ["n1", "n2", "n3"]
  validation {
    condition     = length(var.nodes) > 0 && alltrue([for n in var.nodes : contains(["n1", "n2", "n3", "n4", "n5"], n)])
    error_message = "nodes names some of n1 to n5."
  }
}

variable "restate_version" {
  description = "Restate version of every node (installed by scripts/install-restate.sh into tools_dir). Changing it restarts the nodes one at a time."
  type        = string
  default     = "1.7.12"
}

variable "cluster_name" {
  description = "The cluster's name."
  type        = string
  default     = "local"
}

variable "replication" {
  description = "Copies of every partition and log record."
  type        = string
  default     = "2"
}

variable "num_partitions" {
  description = "Partitions, fixed when the cluster is provisioned."
  type        = number
  default     = 4
}

variable "bucket" {
  description = "Bucket of the snapshot repository on the loopback S3 server."
  type        = string
  default     = "restate-snapshots"
}

variable "work_dir" {
  description = "Where the local nodes keep their config, data and logs."
  type        = string
  default     = ".cluster"
}

variable "tools_dir" {
  description = "The project's .tools directory (Restate binaries, the moto S3 server)."
  type        = string
  default     = "../../.tools"
}

variable "port_offset" {
  description = "Added to every port (fabric 5122, admin 9070, ingress 8080 and up; S3 9000)."
  type        = number
  default     = 0
}

variable "teardown" {
  description = "Set to true and apply before `terraform destroy`: the restate_node resources then only stop tracking their nodes instead of removing each from the cluster, and the restart gates let every machine stop at once."
  type        = bool
  default     = false
}
