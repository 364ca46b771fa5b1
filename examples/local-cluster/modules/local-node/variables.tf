variable "name" {
  description = "The node's name."
  type        = string
}

variable "roles" {
  description = "The node's roles."
  type        = set(string)
  default     = ["worker", "admin", "metadata-server", "log-server", "http-ingress"]
}

variable "ports" {
  description = "The node's fabric, admin and ingress ports on 127.0.0.1."
  type = object({
    fabric  = number
    admin   = number
    ingress = number
  })
}

variable "after" {
  description = "What the wait for the node comes after besides its process (the restate_cluster_config that provisions the cluster)."
  type        = any
  default     = null
}

variable "settings" {
  description = "What every node of the cluster shares."
  type = object({
    cluster_name              = string
    restate_version           = string
    metadata_client_addresses = list(string)
    work_dir                  = string
    tools_dir                 = string
    node_script               = string
    teardown                  = bool
    snapshots = object({
      destination           = string
      aws_region            = optional(string)
      aws_endpoint_url      = optional(string)
      aws_allow_http        = optional(bool)
      aws_access_key_id     = optional(string)
      aws_secret_access_key = optional(string)
      aws_profile           = optional(string)
    })
  })
}
