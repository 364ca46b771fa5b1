variable "stage" {
  description = "How far to walk the migration guide: 0 (one node on the local loglet) to 6 (three nodes, replication 2)."
  type        = number
  default     = 0
  validation {
    condition     = var.stage >= 0 && var.stage <= 6 && floor(var.stage) == var.stage
    error_message = "stage is a whole number from 0 to 6."
  }
}

variable "cluster_name" {
  description = "The cluster's name."
  type        = string
  default     = "demo"
}

variable "restate_version" {
  description = "Restate version of every node (installed by scripts/install-deps.sh into tools_dir)."
  type        = string
  default     = "1.7.12"
}

variable "num_partitions" {
  description = "Partitions of the cluster, fixed when n1 provisions it."
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
  default     = ".demo"
}

variable "tools_dir" {
  description = "The project's .tools directory (Restate binaries, the moto S3 server)."
  type        = string
  default     = "../../.tools"
}

variable "port_offset" {
  description = "Added to every port (n1 fabric 5122, admin 9070, ingress 8080; n2 and n3 the next ones; S3 9000)."
  type        = number
  default     = 0
}

variable "teardown" {
  description = "Set to true and apply before `terraform destroy` to take the whole cluster down: the restate_node resources then only stop tracking their nodes (on_destroy = \"forget\"). Otherwise destroying a node removes it from the cluster, which is refused for the last nodes."
  type        = bool
  default     = false
}

variable "joiners" {
  description = "The nodes that join n1 from stage 5 on. Adding a name adds a node; deleting one removes that node from the cluster safely (its restate_node is destroyed before its process stops)."
  type        = list(string)
  default     = ["n2", "n3"]
  validation {
    condition     = alltrue([for n in var.joiners : contains(["n2", "n3", "n4", "n5"], n)])
    error_message = "joiners may name n2 to n5 (the nodes this example has ports for)."
  }
}
