variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "The Restate cluster's name (also the snapshot prefix)."
  type        = string
  default     = "restate-prod"
}

variable "restate_version" {
  description = "The Restate version every node runs."
  type        = string
  default     = "1.7.12"
}

variable "vpc_id" {
  description = "The VPC the nodes run in."
  type        = string
}

variable "subnets" {
  description = "One private subnet per availability zone: its id, CIDR and zone."
  type = list(object({
    id   = string
    cidr = string
    zone = string
  }))
}

variable "ami_id" {
  description = "A Debian or Ubuntu AMI (cloud-init, apt)."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type of the nodes."
  type        = string
  default     = "m7g.large"
}

variable "data_volume_size" {
  description = "Size in GiB of each node's data volume."
  type        = number
  default     = 100
}

variable "client_cidrs" {
  description = "CIDRs allowed to reach the ingress (8080) and admin API (9070)."
  type        = list(string)
  default     = []
}

variable "operator_cidrs" {
  description = "CIDRs allowed to reach the fabric port 5122 (where Terraform and restatectl run)."
  type        = list(string)
}

variable "replication" {
  description = "Log and partition replication once the cluster runs."
  type        = string
  default     = "2"
}

variable "teardown" {
  description = "Set to true and apply before `terraform destroy`: the nodes are then only forgotten instead of removed from the cluster one by one (which is refused for the last ones), and their instances stop at once."
  type        = bool
  default     = false
}
