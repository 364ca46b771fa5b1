# One Restate node: its rendered restate.toml (for a VM's user data, a config map, ...) and the
# restate_node that waits until the node has joined the cluster with its roles.
#
# Start the machine with `toml` (or `environment`), and pass something that exists once it runs
# (an instance id) as `started_by`, so the wait begins after the machine was created.

terraform {
  required_version = ">= 1.4"
  required_providers {
    restate = {
      source = "terraform-provider-restate/restate"
    }
  }
}

data "restate_node_config" "this" {
  node_name                 = var.name
  cluster_name              = var.cluster_name
  roles                     = var.roles
  advertised_address        = var.advertised_address
  bind_address              = var.bind_address
  metadata_client_addresses = var.metadata_client_addresses
  auto_provision            = var.auto_provision
  default_num_partitions    = var.default_num_partitions
  default_replication       = var.default_replication
  location                  = var.location
  restate_version           = var.restate_version
  base_config               = var.base_config

  dynamic "snapshots" {
    for_each = var.snapshots == null ? [] : [var.snapshots]
    content {
      destination           = snapshots.value.destination
      aws_region            = snapshots.value.aws_region
      aws_endpoint_url      = snapshots.value.aws_endpoint_url
      aws_allow_http        = snapshots.value.aws_allow_http
      aws_access_key_id     = snapshots.value.aws_access_key_id
      aws_secret_access_key = snapshots.value.aws_secret_access_key
      aws_profile           = snapshots.value.aws_profile
    }
  }
}

# Orders the wait after the machine that runs the node (and after `after`: for a new cluster, the
# restate_cluster_config that provisions it, which itself waits only for the machines).
resource "terraform_data" "started" {
  input = { machine = var.started_by, after = var.after }
}

resource "restate_node" "this" {
  name             = var.name
  roles            = var.roles
  expected_version = var.restate_version
  on_destroy       = var.on_destroy

  timeouts {
    create = var.join_timeout
    update = var.join_timeout
    delete = var.remove_timeout
  }

  # Destroy runs in the reverse order: the node is removed from the cluster first, and its machine
  # (which `started_by` depends on) stops only afterwards.
  depends_on = [terraform_data.started]
}
