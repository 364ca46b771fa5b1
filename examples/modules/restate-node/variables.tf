variable "name" {
  description = "The node's node-name (unique in the cluster)."
  type        = string

  validation {
    condition     = var.name != "" && trimspace(var.name) == var.name
    error_message = "name must not be empty nor start or end with spaces."
  }
}

variable "cluster_name" {
  description = "The cluster's name; the same on every node."
  type        = string
}

variable "roles" {
  description = "Roles: worker, admin, metadata-server, log-server, http-ingress."
  type        = set(string)
  default     = ["worker", "admin", "metadata-server", "log-server", "http-ingress"]

  validation {
    condition = length(var.roles) > 0 && alltrue([
      for r in var.roles : contains(["worker", "admin", "metadata-server", "log-server", "http-ingress"], r)
    ])
    error_message = "roles must be one or more of worker, admin, metadata-server, log-server, http-ingress."
  }
}

variable "advertised_address" {
  description = "The fabric URL other nodes reach this one at, e.g. http://10.0.1.10:5122."
  type        = string
}

variable "bind_address" {
  description = "Where the fabric port listens."
  type        = string
  default     = "0.0.0.0:5122"
}

variable "metadata_client_addresses" {
  description = "Fabric URLs of the metadata servers this node joins (the seed nodes)."
  type        = list(string)
  default     = null
}

variable "auto_provision" {
  description = "Let this node provision the cluster on its own. Keep false on every node that joins others; provision with restate_cluster_config instead."
  type        = bool
  default     = false
}

variable "default_num_partitions" {
  description = "Partitions, used when the cluster is provisioned by a node's config."
  type        = number
  default     = null
}

variable "default_replication" {
  description = "Replication used when the cluster is provisioned by a node's config."
  type        = string
  default     = null
}

variable "location" {
  description = "region[.zone] of the node, for zone- and region-aware replication."
  type        = string
  default     = null
}

variable "restate_version" {
  description = "The Restate version the node runs; the rendered keys follow it, and apply waits for it."
  type        = string
}

variable "snapshots" {
  description = "The snapshot repository ([worker.snapshots]). Without keys or a profile, the SDK uses the machine's role."
  type = object({
    destination           = string
    aws_region            = optional(string)
    aws_endpoint_url      = optional(string)
    aws_allow_http        = optional(bool)
    aws_access_key_id     = optional(string)
    aws_secret_access_key = optional(string)
    aws_profile           = optional(string)
  })
  default = null
}

variable "base_config" {
  description = "Further restate.toml settings (TOML); the managed keys override the same keys here."
  type        = string
  default     = null
}

variable "started_by" {
  description = "A value known once the machine running the node exists (its id): the wait starts after it."
  type        = string
  default     = null
}

variable "join_timeout" {
  description = "How long to wait for the node to join (booting a machine takes a while)."
  type        = string
  default     = "15m"
}

variable "on_destroy" {
  description = "What destroying the node does: \"remove\" (remove it from the cluster safely, before its machine stops) or \"forget\" (only stop tracking it; set it on every node and apply before taking the whole cluster down)."
  type        = string
  default     = "remove"

  validation {
    condition     = contains(["remove", "forget"], var.on_destroy)
    error_message = "on_destroy must be \"remove\" or \"forget\"."
  }
}

variable "remove_timeout" {
  description = "How long removing the node from the cluster may take (drain, move logs off it, leave the metadata servers)."
  type        = string
  default     = "30m"
}

variable "after" {
  description = "What the wait for the node must come after besides its machine: for a cluster bootstrapped in the same apply, the id of the restate_cluster_config that provisions it (which depends on the machines only, never on this module's restate_node)."
  type        = any
  default     = null
}
