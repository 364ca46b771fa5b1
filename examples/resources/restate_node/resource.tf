# n2's machine: here a stand-in, in a real configuration the instance, VM or pod that runs
# restate-server with n2's restate.toml (restate_node_config), as in examples/aws-cluster.
resource "terraform_data" "n2_machine" {
  input = "n2"
}

resource "restate_node" "n2" {
  name             = "n2"
  roles            = ["worker", "admin", "metadata-server", "log-server"]
  expected_version = "1.7.12"

  timeouts {
    create = "10m"
    update = "10m"
  }

  # The wait starts once the machine exists; on destroy, the node leaves the cluster before its
  # machine stops.
  depends_on = [terraform_data.n2_machine]
}
