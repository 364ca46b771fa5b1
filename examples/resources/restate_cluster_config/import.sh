# The import id is the cluster's name.
terraform import restate_cluster_config.this my-cluster
