variable "restate_version" {
  type    = string
  default = "1.7.12"
}

# n2's machine: here a stand-in replaced when the version changes, in a real configuration an
# instance whose user data (the rendered restate.toml) changes with it (examples/aws-cluster).
resource "terraform_data" "n2_machine" {
  triggers_replace = [var.restate_version]
}

# Next to each node's machine: the gate is replaced with the machine and destroyed before it, so a
# version change replaces the machines one at a time.
resource "restate_restart_gate" "n2" {
  node             = "n2"
  roles            = ["worker", "admin", "metadata-server", "log-server", "http-ingress"]
  expected_version = var.restate_version

  timeouts {
    create = "15m" # the node back, alive, on the new version
    delete = "30m" # the previous node back, the cluster able to do without this one
  }

  lifecycle {
    replace_triggered_by = [terraform_data.n2_machine]
  }
  depends_on = [terraform_data.n2_machine]
}
