# Restate's guide "Migrating a single-node to a multi-node deployment", as Terraform diffs.
#
# `terraform apply -var stage=N` for N = 0..6 walks the guide; each stage adds one step's diff
# (see README.md). The "VMs" are local restate-server processes run by terraform_data
# provisioners (scripts/restate-node.sh), restarted whenever their rendered restate.toml changes;
# the snapshot store is a loopback S3 server (moto). Run it through scripts/demo.sh, or inside
# scripts/in-private-netns.sh: nothing here may reach anything but loopback.

terraform {
  # terraform_data (the local "VMs") needs Terraform 1.4.
  required_version = ">= 1.4"
  required_providers {
    restate = {
      source = "terraform-provider-restate/restate"
    }
  }
}

provider "restate" {
  # n1 first; n2 and n3 are used when n1 does not answer (once they exist).
  endpoints    = [for n in ["n1", "n2", "n3"] : "http://127.0.0.1:${local.ports[n].fabric}"]
  cluster_name = var.cluster_name
}

locals {
  # Destroying a restate_node removes the node from the cluster, safely; for a whole-cluster
  # teardown (var.teardown) it only stops tracking it.
  on_destroy = var.teardown ? "forget" : "remove"

  ports = {
    for i, n in ["n1", "n2", "n3", "n4", "n5"] : n => {
      fabric  = 5122 + var.port_offset + i
      admin   = 9070 + var.port_offset + i
      ingress = 8080 + var.port_offset + i
    }
  }
  s3_port     = 9000 + var.port_offset
  work_dir    = abspath(var.work_dir)
  tools_dir   = abspath(var.tools_dir)
  server_bin  = "${local.tools_dir}/restate-${var.restate_version}/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
  node_script = abspath("${path.module}/scripts/restate-node.sh")

  # Stage 0: the guide's starting point, a single node without the log-server role.
  # Stage 2 adds the role (and the cluster moves to the replicated loglet).
  n1_roles  = concat(["worker", "admin", "metadata-server", "http-ingress"], var.stage >= 2 ? ["log-server"] : [])
  all_roles = ["worker", "admin", "metadata-server", "log-server", "http-ingress"]
  joiners   = var.stage >= 5 ? toset(var.joiners) : toset([])

  # Stage 6 raises replication once three nodes are in.
  replication = var.stage >= 6 ? "2" : "1"

  snapshots = {
    destination           = "s3://${var.bucket}/${var.cluster_name}"
    aws_region            = "us-east-1"
    aws_endpoint_url      = "http://127.0.0.1:${local.s3_port}"
    aws_allow_http        = true
    aws_access_key_id     = "demo-access-key"
    aws_secret_access_key = "demo-secret-key"
  }
}

# --- the snapshot store (stage >= 1) ------------------------------------------------------------

resource "terraform_data" "s3" {
  count = var.stage >= 1 ? 1 : 0
  input = { work_dir = local.work_dir, script = abspath("${path.module}/scripts/s3-server.sh") }

  provisioner "local-exec" {
    command = "${self.input.script} start ${self.input.work_dir} ${local.tools_dir}/venv/bin/moto_server ${local.s3_port} ${var.bucket}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.work_dir}"
  }
}

# --- n1, the original single node ---------------------------------------------------------------

data "restate_node_config" "n1" {
  node_name              = "n1"
  cluster_name           = var.cluster_name
  roles                  = local.n1_roles
  advertised_address     = "http://127.0.0.1:${local.ports.n1.fabric}"
  bind_address           = "127.0.0.1:${local.ports.n1.fabric}"
  auto_provision         = true # the seed node provisions itself on first start
  default_num_partitions = var.num_partitions
  log_provider           = "local"
  restate_version        = var.restate_version

  # Stage 1: a snapshot repository (and, up to 1.3, the replicated metadata server).
  dynamic "snapshots" {
    for_each = var.stage >= 1 ? [local.snapshots] : []
    content {
      destination           = snapshots.value.destination
      aws_region            = snapshots.value.aws_region
      aws_endpoint_url      = snapshots.value.aws_endpoint_url
      aws_allow_http        = snapshots.value.aws_allow_http
      aws_access_key_id     = snapshots.value.aws_access_key_id
      aws_secret_access_key = snapshots.value.aws_secret_access_key
    }
  }

  base_config = templatefile("${path.module}/restate.base.toml.tftpl", {
    base_dir = "${local.work_dir}/n1/data"
    ports    = local.ports.n1
  })
}

# The "VM": (re)starts restate-server whenever the rendered config changes.
resource "terraform_data" "n1" {
  triggers_replace = data.restate_node_config.n1.toml
  input            = { name = "n1", work_dir = local.work_dir, script = local.node_script }

  provisioner "local-exec" {
    command     = "${self.input.script} start n1 ${self.input.work_dir} ${local.server_bin} ${local.ports.n1.fabric}"
    environment = { RESTATE_TOML = data.restate_node_config.n1.toml }
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.name} ${self.input.work_dir}"
  }

  depends_on = [terraform_data.s3]
}

resource "restate_node" "n1" {
  name             = "n1"
  roles            = local.n1_roles
  expected_version = var.restate_version
  on_destroy       = local.on_destroy

  depends_on = [terraform_data.n1]
}

# --- stage 2: the replicated loglet (replication 1 while there is one node; 2 at stage 6) -------

resource "restate_cluster_config" "this" {
  count                 = var.stage >= 2 ? 1 : 0
  log_provider          = "replicated"
  log_replication       = local.replication
  partition_replication = local.replication

  depends_on = [restate_node.n1]
}

# --- stage 4: a snapshot of every partition, before new nodes join -----------------------------

resource "restate_partition_snapshot" "before_scale_out" {
  count    = var.stage >= 4 ? 1 : 0
  trim_log = true # as the guide does: new nodes start from the snapshot, not the local loglet

  depends_on = [restate_cluster_config.this]
}

# --- stage 5: n2 and n3 join ----------------------------------------------------------------------

data "restate_node_config" "joiner" {
  for_each                  = local.joiners
  node_name                 = each.key
  cluster_name              = var.cluster_name
  roles                     = local.all_roles
  advertised_address        = "http://127.0.0.1:${local.ports[each.key].fabric}"
  bind_address              = "127.0.0.1:${local.ports[each.key].fabric}"
  metadata_client_addresses = ["http://127.0.0.1:${local.ports.n1.fabric}"]
  auto_provision            = false # or it provisions a second cluster named like this one
  restate_version           = var.restate_version

  snapshots {
    destination           = local.snapshots.destination
    aws_region            = local.snapshots.aws_region
    aws_endpoint_url      = local.snapshots.aws_endpoint_url
    aws_allow_http        = local.snapshots.aws_allow_http
    aws_access_key_id     = local.snapshots.aws_access_key_id
    aws_secret_access_key = local.snapshots.aws_secret_access_key
  }

  base_config = templatefile("${path.module}/restate.base.toml.tftpl", {
    base_dir = "${local.work_dir}/${each.key}/data"
    ports    = local.ports[each.key]
  })
}

resource "terraform_data" "joiner" {
  for_each         = local.joiners
  triggers_replace = data.restate_node_config.joiner[each.key].toml
  input            = { name = each.key, work_dir = local.work_dir, script = local.node_script }

  provisioner "local-exec" {
    command     = "${self.input.script} start ${each.key} ${self.input.work_dir} ${local.server_bin} ${local.ports[each.key].fabric}"
    environment = { RESTATE_TOML = data.restate_node_config.joiner[each.key].toml }
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.name} ${self.input.work_dir}"
  }

  # New nodes start only once every partition has a snapshot.
  depends_on = [restate_partition_snapshot.before_scale_out]
}

resource "restate_node" "joiner" {
  for_each         = local.joiners
  name             = each.key
  roles            = local.all_roles
  expected_version = var.restate_version
  on_destroy       = local.on_destroy

  # Destroy runs in the reverse order: the node leaves the cluster before its process stops.
  depends_on = [terraform_data.joiner]
}

# --- what the cluster reports (stage 3 onwards: the guide's "verify") ---------------------------

data "restate_cluster_status" "this" {
  depends_on = [
    restate_node.n1,
    restate_cluster_config.this,
    restate_partition_snapshot.before_scale_out,
    restate_node.joiner,
  ]
}
