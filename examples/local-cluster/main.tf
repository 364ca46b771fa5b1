# examples/aws-cluster's Restate side with local processes as the machines: the same shared
# module (../modules/restate-node), the same restart gates, the same graph. It bootstraps a
# cluster from nothing in one apply, and every later change is a diff: add a name to `nodes` to
# add a node, delete one to remove it safely, change `restate_version` to upgrade the nodes one
# at a time. Run it inside a private network namespace (scripts/in-private-netns.sh).

terraform {
  required_version = ">= 1.4"
  required_providers {
    restate = {
      source = "terraform-provider-restate/restate"
    }
  }
}

provider "restate" {
  endpoints    = [for n in var.nodes : "http://127.0.0.1:${local.ports[n].fabric}"]
  cluster_name = var.cluster_name
}

locals {
  # Fixed ports per name, so every node's config (and the provider's endpoints) are known at plan.
  ports = {
    for i, n in ["n1", "n2", "n3", "n4", "n5"] : n => {
      fabric  = 5122 + var.port_offset + i
      admin   = 9070 + var.port_offset + i
      ingress = 8080 + var.port_offset + i
    }
  }
  work_dir = abspath(var.work_dir)
  s3_port  = 9000 + var.port_offset
  # Every node finds the metadata servers through the first three.
  seeds = [for n in ["n1", "n2", "n3"] : "http://127.0.0.1:${local.ports[n].fabric}"]
  node_settings = {
    cluster_name              = var.cluster_name
    restate_version           = var.restate_version
    metadata_client_addresses = local.seeds
    work_dir                  = local.work_dir
    tools_dir                 = abspath(var.tools_dir)
    node_script               = abspath("${path.module}/../single-to-multi-node/scripts/restate-node.sh")
    teardown                  = var.teardown
    snapshots = {
      destination           = "s3://${var.bucket}/${var.cluster_name}"
      aws_region            = "us-east-1"
      aws_endpoint_url      = "http://127.0.0.1:${local.s3_port}"
      aws_allow_http        = true
      aws_access_key_id     = "local-access-key"
      aws_secret_access_key = "local-secret-key"
    }
  }
}

# The snapshot repository (a loopback S3 server), which removing a node needs.
resource "terraform_data" "s3" {
  input = { work_dir = local.work_dir, script = abspath("${path.module}/../single-to-multi-node/scripts/s3-server.sh") }

  provisioner "local-exec" {
    command = "${self.input.script} start ${self.input.work_dir} ${abspath(var.tools_dir)}/venv/bin/moto_server ${local.s3_port} ${var.bucket}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.work_dir}"
  }
}

# One module block per node, as in examples/aws-cluster (not one `for_each` block): Terraform
# replaces the instances of one resource all together, so the restart gates of a `for_each`
# module would each wait for the others. Each node's wait comes after the provisioning (`after`).
module "n1" {
  source = "./modules/local-node"
  count  = contains(var.nodes, "n1") ? 1 : 0

  name     = "n1"
  ports    = local.ports.n1
  settings = local.node_settings
  after    = restate_cluster_config.this.id

  depends_on = [terraform_data.s3]
}

module "n2" {
  source = "./modules/local-node"
  count  = contains(var.nodes, "n2") ? 1 : 0

  name     = "n2"
  ports    = local.ports.n2
  settings = local.node_settings
  after    = restate_cluster_config.this.id

  depends_on = [terraform_data.s3]
}

module "n3" {
  source = "./modules/local-node"
  count  = contains(var.nodes, "n3") ? 1 : 0

  name     = "n3"
  ports    = local.ports.n3
  settings = local.node_settings
  after    = restate_cluster_config.this.id

  depends_on = [terraform_data.s3]
}

module "n4" {
  source = "./modules/local-node"
  count  = contains(var.nodes, "n4") ? 1 : 0

  name     = "n4"
  ports    = local.ports.n4
  settings = local.node_settings
  after    = restate_cluster_config.this.id

  depends_on = [terraform_data.s3]
}

module "n5" {
  source = "./modules/local-node"
  count  = contains(var.nodes, "n5") ? 1 : 0

  name     = "n5"
  ports    = local.ports.n5
  settings = local.node_settings
  after    = restate_cluster_config.this.id

  depends_on = [terraform_data.s3]
}

# The machines, and nothing of the nodes' own waits: what provisioning waits for. Each output is
# named with a literal index: `module.n1[*]` (or depending on the modules) would include each
# node's wait to join, which waits for the provisioning.
resource "terraform_data" "machines" {
  input = compact([
    try(module.n1[0].machine_id, null),
    try(module.n2[0].machine_id, null),
    try(module.n3[0].machine_id, null),
    try(module.n4[0].machine_id, null),
    try(module.n5[0].machine_id, null),
  ])
}

# Every node starts with auto-provision = false; the cluster is provisioned here, once, on the
# first endpoint, with the replicated loglet, as soon as the machines run.
resource "restate_cluster_config" "this" {
  provision             = true
  num_partitions        = var.num_partitions
  log_provider          = "replicated"
  log_replication       = var.replication
  partition_replication = var.replication

  depends_on = [terraform_data.machines]
}

data "restate_cluster_status" "this" {
  depends_on = [module.n1, module.n2, module.n3, module.n4, module.n5]
}
