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
