data "restate_node_config" "n2" {
  node_name                 = "n2"
  cluster_name              = "my-cluster"
  roles                     = ["worker", "admin", "metadata-server", "log-server"]
  advertised_address        = "http://10.0.0.2:5122"
  bind_address              = "0.0.0.0:5122"
  metadata_client_addresses = ["http://10.0.0.1:5122"]
  auto_provision            = false
  default_num_partitions    = 24
  default_replication       = "2"
  log_provider              = "replicated"
  location                  = "us-east-1.us-east-1a"
  restate_version           = "1.7"

  snapshots {
    destination = "s3://my-bucket/my-cluster"
    aws_region  = "us-east-1"
    # no keys and no profile: the SDK uses the VM's instance role
  }

  # What the provider does not manage; the managed keys override the same keys here.
  base_config = <<-TOML
    base-dir = "/var/lib/restate"

    [admin]
    bind-address = "0.0.0.0:9070"
  TOML
}

# The machine's user data, a config map, ...: e.g. an aws_instance's
#   user_data = templatefile("cloud-init.yaml.tftpl", { restate_toml = data.restate_node_config.n2.toml })
# as in examples/aws-cluster.
output "n2_restate_toml" {
  value     = data.restate_node_config.n2.toml
  sensitive = true
}
