# `terraform test` for the module, without a cluster: restate_node_config only renders, and the
# restate_node is overridden (Terraform >= 1.7), so no run calls a node. Plans only.
#   cd examples/modules/restate-node && terraform init && terraform test
# (tests/examples.rs runs it, with the provider installed from a filesystem mirror of the release
# files.)

# Nothing here reaches a node; should a call slip through, it fails at once on this port.
provider "restate" {
  endpoints = ["http://127.0.0.1:1"]
}

override_resource {
  target = restate_node.this
}

variables {
  name                      = "n2"
  cluster_name              = "my-cluster"
  advertised_address        = "http://10.0.1.12:5122"
  metadata_client_addresses = ["http://10.0.1.10:5122"]
  restate_version           = "1.7.12"
}

run "a_joining_node_renders_its_restate_toml" {
  command = plan

  assert {
    condition = alltrue([for line in [
      "node-name = \"n2\"",
      "cluster-name = \"my-cluster\"",
      "roles = [\"admin\", \"http-ingress\", \"log-server\", \"metadata-server\", \"worker\"]",
      "auto-provision = false",
      "advertised-address = \"http://10.0.1.12:5122\"",
      "bind-address = \"0.0.0.0:5122\"",
      "[metadata-client]\naddresses = [\"http://10.0.1.10:5122\"]",
    ] : strcontains(nonsensitive(output.toml), line)])
    error_message = "The rendered restate.toml lacks a key of the node's inputs."
  }

  assert {
    condition     = !strcontains(nonsensitive(output.toml), "[worker.snapshots]") && !strcontains(nonsensitive(output.toml), "[metadata-server]")
    error_message = "Without a snapshot repository, and for Restate 1.7, nothing else is rendered."
  }

  assert {
    condition = nonsensitive(output.environment) == tomap({
      RESTATE_NODE_NAME                  = "n2"
      RESTATE_CLUSTER_NAME               = "my-cluster"
      RESTATE_ROLES                      = "[admin,http-ingress,log-server,metadata-server,worker]"
      RESTATE_AUTO_PROVISION             = "false"
      RESTATE_ADVERTISED_ADDRESS         = "http://10.0.1.12:5122"
      RESTATE_BIND_ADDRESS               = "0.0.0.0:5122"
      RESTATE_METADATA_CLIENT__ADDRESSES = "[http://10.0.1.10:5122]"
    })
    error_message = "The environment variables are not the rendered configuration: ${jsonencode(nonsensitive(output.environment))}"
  }
}

run "the_node_waits_with_the_modules_settings" {
  command = plan

  variables {
    roles          = ["worker", "log-server"]
    on_destroy     = "forget"
    join_timeout   = "20m"
    remove_timeout = "45m"
    started_by     = "i-0123456789abcdef0"
  }

  assert {
    condition     = restate_node.this.name == "n2" && restate_node.this.expected_version == "1.7.12"
    error_message = "restate_node must track the node the module renders, on its version."
  }

  assert {
    condition     = toset(restate_node.this.roles) == toset(["worker", "log-server"]) && strcontains(nonsensitive(output.toml), "roles = [\"log-server\", \"worker\"]")
    error_message = "The node waits for the roles it is rendered with."
  }

  assert {
    condition     = restate_node.this.on_destroy == "forget"
    error_message = "on_destroy is passed through."
  }

  assert {
    condition = (
      restate_node.this.timeouts[0].create == "20m" &&
      restate_node.this.timeouts[0].update == "20m" &&
      restate_node.this.timeouts[0].delete == "45m"
    )
    error_message = "join_timeout bounds create and update, remove_timeout the removal."
  }

  assert {
    condition     = terraform_data.started.input.machine == "i-0123456789abcdef0"
    error_message = "The wait is ordered after the machine (started_by)."
  }
}

run "snapshots_and_base_config_are_rendered" {
  command = plan

  variables {
    location = "us-east-1.us-east-1a"
    snapshots = {
      destination = "s3://my-bucket/my-cluster"
      aws_region  = "us-east-1"
    }
    base_config = <<-TOML
      base-dir = "/var/lib/restate"
      node-name = "overridden"

      [admin]
      bind-address = "0.0.0.0:9070"
    TOML
  }

  assert {
    condition = alltrue([for line in [
      "location = \"us-east-1.us-east-1a\"",
      "[worker.snapshots]\ndestination = \"s3://my-bucket/my-cluster\"\naws-region = \"us-east-1\"",
      "base-dir = \"/var/lib/restate\"",
      "[admin]\nbind-address = \"0.0.0.0:9070\"",
      "node-name = \"n2\"",
    ] : strcontains(nonsensitive(output.toml), line)])
    error_message = "The snapshot repository, the location and the base config's own keys are rendered."
  }

  assert {
    condition     = !strcontains(nonsensitive(output.toml), "overridden")
    error_message = "The managed keys override the same keys of base_config."
  }
}

run "restate_1_2_gets_its_own_key_names" {
  command = plan

  variables {
    restate_version = "1.2"
  }

  assert {
    condition = alltrue([
      strcontains(nonsensitive(output.toml), "\"metadata-store\""),
      !strcontains(nonsensitive(output.toml), "\"metadata-server\""),
      strcontains(nonsensitive(output.toml), "[metadata-server]\ntype = \"replicated\""),
    ])
    error_message = "Restate 1.2 calls the role metadata-store and needs the replicated metadata server type."
  }
}
