terraform {
  required_providers {
    restate = {
      source  = "terraform-provider-restate/restate"
      version = "~> 0.1"
    }
  }
}

provider "restate" {
  endpoints       = ["http://10.0.0.1:5122", "http://10.0.0.2:5122"]
  cluster_name    = "my-cluster"
  request_timeout = "10s"
}
