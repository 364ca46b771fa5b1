# One Restate node on EC2: a data volume that outlives the instance, the instance (its user data
# carries the rendered restate.toml), and the wait until the node has joined.
#
# A config change replaces the instance (user_data_replace_on_change); the data volume is attached
# again, so the node comes back with its identity and data, as after a restart.

terraform {
  required_version = ">= 1.4"
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
    restate = {
      source = "terraform-provider-restate/restate"
    }
  }
}

module "restate" {
  source = "../../../modules/restate-node"

  name                      = var.name
  cluster_name              = var.settings.cluster_name
  roles                     = var.roles
  advertised_address        = "http://${var.private_ip}:5122"
  bind_address              = "0.0.0.0:5122"
  metadata_client_addresses = var.settings.metadata_client_addresses
  auto_provision            = false
  location                  = "${data.aws_region.current.name}.${var.subnet.zone}"
  restate_version           = var.settings.restate_version
  snapshots                 = var.settings.snapshots
  base_config               = file("${path.module}/restate.base.toml")
  started_by                = aws_instance.this.id
  after                     = var.after
  on_destroy                = var.teardown ? "forget" : "remove"
}

# Destroyed before the instance whenever the instance is replaced (a new version or config in its
# user data): the replacement waits for this node's turn, so a version change replaces the
# instances one at a time, each after the previous node is back on the new version.
resource "restate_restart_gate" "this" {
  node             = var.name
  roles            = var.roles
  expected_version = var.settings.restate_version
  allow_downtime   = var.teardown # the whole cluster goes: nobody waits for anybody

  timeouts {
    create = "20m"
    delete = "40m"
  }

  lifecycle {
    replace_triggered_by = [aws_instance.this]
  }
  depends_on = [aws_instance.this]
}

data "aws_region" "current" {}

resource "aws_ebs_volume" "data" {
  availability_zone = var.subnet.zone
  size              = var.settings.data_volume_size
  type              = "gp3"
  encrypted         = true
  tags              = { Name = "${var.settings.cluster_name}-${var.name}-data" }

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_instance" "this" {
  ami                    = var.settings.ami_id
  instance_type          = var.settings.instance_type
  subnet_id              = var.subnet.id
  private_ip             = var.private_ip
  vpc_security_group_ids = [var.settings.security_group_id]
  iam_instance_profile   = var.settings.instance_profile

  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    restate_toml    = module.restate.toml
    restate_version = var.settings.restate_version
  })
  user_data_replace_on_change = true

  metadata_options {
    http_tokens = "required" # IMDSv2 only
  }

  tags = { Name = "${var.settings.cluster_name}-${var.name}" }
}

resource "aws_volume_attachment" "data" {
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.this.id
}
