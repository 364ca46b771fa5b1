# A three-node Restate cluster on EC2, each node in its own availability zone, with partition
# snapshots in S3. Adding a node is adding one `module "nX"` block (and, to use it for more
# copies, raising `replication`).

locals {
  # Fixed private addresses, so every node's config (and the provider's endpoints) are known at plan.
  nodes = {
    n1 = { subnet = var.subnets[0], private_ip = cidrhost(var.subnets[0].cidr, 10) }
    n2 = { subnet = var.subnets[1 % length(var.subnets)], private_ip = cidrhost(var.subnets[1 % length(var.subnets)].cidr, 11) }
    n3 = { subnet = var.subnets[2 % length(var.subnets)], private_ip = cidrhost(var.subnets[2 % length(var.subnets)].cidr, 12) }
  }
  # Every node joins the metadata cluster through these seeds.
  seeds = [for n in ["n1", "n2", "n3"] : "http://${local.nodes[n].private_ip}:5122"]
  node_settings = {
    cluster_name              = var.cluster_name
    restate_version           = var.restate_version
    metadata_client_addresses = local.seeds
    security_group_id         = aws_security_group.restate.id
    instance_profile          = aws_iam_instance_profile.restate.name
    ami_id                    = var.ami_id
    instance_type             = var.instance_type
    data_volume_size          = var.data_volume_size
    snapshots = {
      destination = "s3://${aws_s3_bucket.snapshots.bucket}/${var.cluster_name}"
      aws_region  = var.region
      # No keys: the nodes use their instance role.
    }
  }
}

module "n1" {
  source     = "./modules/aws-node"
  name       = "n1"
  subnet     = local.nodes.n1.subnet
  private_ip = local.nodes.n1.private_ip
  settings   = local.node_settings
  after      = restate_cluster_config.this.id
  teardown   = var.teardown
}

module "n2" {
  source     = "./modules/aws-node"
  name       = "n2"
  subnet     = local.nodes.n2.subnet
  private_ip = local.nodes.n2.private_ip
  settings   = local.node_settings
  after      = restate_cluster_config.this.id
  teardown   = var.teardown
}

module "n3" {
  source     = "./modules/aws-node"
  name       = "n3"
  subnet     = local.nodes.n3.subnet
  private_ip = local.nodes.n3.private_ip
  settings   = local.node_settings
  after      = restate_cluster_config.this.id
  teardown   = var.teardown
}

# The instances, and nothing of the nodes' own waits: what provisioning waits for. (Depending on
# the modules would include each node's wait to join, which waits for the provisioning.)
resource "terraform_data" "machines" {
  input = [module.n1.instance_id, module.n2.instance_id, module.n3.instance_id]
}

# Every node starts with auto-provision = false; the cluster is provisioned here, once, with the
# replicated loglet, as soon as the instances run; each node's wait comes after it (`after`).
resource "restate_cluster_config" "this" {
  provision             = true
  num_partitions        = 24
  log_provider          = "replicated"
  log_replication       = var.replication
  partition_replication = var.replication

  depends_on = [terraform_data.machines]
}

data "restate_cluster_status" "this" {
  depends_on = [module.n1, module.n2, module.n3]
}
