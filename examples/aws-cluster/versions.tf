terraform {
  required_version = ">= 1.4"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
    restate = {
      source = "terraform-provider-restate/restate"
    }
  }
}

provider "aws" {
  region = var.region
}

# Terraform must reach the nodes' fabric port (run it from inside the VPC, over a VPN, or through
# a bastion tunnel). Every address is known at plan time, so no apply has to wait for another.
provider "restate" {
  endpoints    = [for n in local.nodes : "http://${n.private_ip}:5122"]
  cluster_name = var.cluster_name
}
