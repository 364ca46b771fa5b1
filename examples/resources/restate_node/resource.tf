resource "restate_node" "n2" {
  name             = "n2"
  roles            = ["worker", "admin", "metadata-server", "log-server"]
  expected_version = "1.7.12"

  timeouts {
    create = "10m"
    update = "10m"
  }

  depends_on = [aws_instance.n2]
}
