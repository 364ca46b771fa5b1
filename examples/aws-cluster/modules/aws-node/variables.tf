variable "name" {
  description = "The node's name."
  type        = string
}

variable "roles" {
  description = "The node's roles."
  type        = set(string)
  default     = ["worker", "admin", "metadata-server", "log-server", "http-ingress"]
}

variable "subnet" {
  description = "The subnet (id, CIDR, zone) the node runs in."
  type = object({
    id   = string
    cidr = string
    zone = string
  })
}

variable "private_ip" {
  description = "The node's fixed private address in the subnet."
  type        = string
}

variable "settings" {
  description = "What every node of the cluster shares."
  type = object({
    cluster_name              = string
    restate_version           = string
    metadata_client_addresses = list(string)
    security_group_id         = string
    instance_profile          = string
    ami_id                    = string
    instance_type             = string
    data_volume_size          = number
    snapshots = object({
      destination = string
      aws_region  = string
    })
  })
}

variable "after" {
  description = "What the node's wait comes after besides its instance: the restate_cluster_config that provisions a new cluster (which depends on the instances only)."
  type        = any
  default     = null
}

variable "teardown" {
  description = "Set to true (and apply) before destroying the whole cluster: the node is then only forgotten, not removed from the cluster, and its restart gate lets its instance stop at once."
  type        = bool
  default     = false
}
