# One Restate node as a local process: the local stand-in for examples/aws-cluster's aws-node.
# Only the "machine" differs (a process started by a provisioner instead of an EC2 instance); the
# Restate side is the same shared module and the same restart gate.
#
# A config or version change replaces the machine (the process restarts with the new binary and
# config, keeping its data directory, as an instance keeps its data volume).

terraform {
  required_version = ">= 1.4"
  required_providers {
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
  advertised_address        = "http://127.0.0.1:${var.ports.fabric}"
  bind_address              = "127.0.0.1:${var.ports.fabric}"
  metadata_client_addresses = var.settings.metadata_client_addresses
  auto_provision            = false
  restate_version           = var.settings.restate_version
  snapshots                 = var.settings.snapshots
  on_destroy                = var.settings.teardown ? "forget" : "remove"
  base_config = templatefile("${path.module}/restate.base.toml.tftpl", {
    base_dir = "${var.settings.work_dir}/${var.name}/data"
    ports    = var.ports
  })
  started_by = terraform_data.machine.id
  after      = var.after
}

locals {
  server_bin = "${var.settings.tools_dir}/restate-${var.settings.restate_version}/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server"
}

# The "machine": restate-server with the rendered config, replaced when the config or the
# version changes.
resource "terraform_data" "machine" {
  triggers_replace = [module.restate.toml, local.server_bin]
  input            = { name = var.name, work_dir = var.settings.work_dir, script = var.settings.node_script }

  provisioner "local-exec" {
    command     = "${self.input.script} start ${var.name} ${self.input.work_dir} ${local.server_bin} ${var.ports.fabric}"
    environment = { RESTATE_TOML = module.restate.toml }
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.script} stop ${self.input.name} ${self.input.work_dir}"
  }
}

# Destroyed before the machine whenever the machine is replaced: the replacement waits for this
# node's turn, so a version change restarts the nodes one at a time.
resource "restate_restart_gate" "this" {
  node             = var.name
  roles            = var.roles
  expected_version = var.settings.restate_version
  allow_downtime   = var.settings.teardown # the whole cluster goes: nobody waits for anybody

  timeouts {
    create = "10m"
    delete = "20m"
  }

  lifecycle {
    replace_triggered_by = [terraform_data.machine]
  }
  depends_on = [terraform_data.machine]
}
