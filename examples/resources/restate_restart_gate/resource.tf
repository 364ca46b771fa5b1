# Next to each node's machine (here an EC2 instance): the gate is replaced with the machine and
# destroyed before it, so a version change replaces the machines one at a time.
resource "restate_restart_gate" "n2" {
  node             = "n2"
  roles            = ["worker", "admin", "metadata-server", "log-server", "http-ingress"]
  expected_version = var.restate_version

  timeouts {
    create = "15m" # the node back, alive, on the new version
    delete = "30m" # the previous node back, the cluster able to do without this one
  }

  lifecycle {
    replace_triggered_by = [aws_instance.n2]
  }
  depends_on = [aws_instance.n2]
}
