# The module's variable validations refuse bad inputs at the module call, before the provider is
# asked. Plans only, no cluster (see render.tftest.hcl).

provider "restate" {
  endpoints = ["http://127.0.0.1:1"]
}

override_resource {
  target = restate_node.this
}

variables {
  name               = "n2"
  cluster_name       = "my-cluster"
  advertised_address = "http://10.0.1.12:5122"
  restate_version    = "1.7.12"
}

run "an_unknown_on_destroy_is_refused" {
  command = plan

  variables {
    on_destroy = "delete"
  }

  expect_failures = [var.on_destroy]
}

run "an_unknown_role_is_refused" {
  command = plan

  variables {
    roles = ["worker", "ingress"]
  }

  expect_failures = [var.roles]
}

run "no_roles_are_refused" {
  command = plan

  variables {
    roles = []
  }

  expect_failures = [var.roles]
}

run "a_name_with_surrounding_spaces_is_refused" {
  command = plan

  variables {
    name = " n2"
  }

  expect_failures = [var.name]
}

run "an_empty_name_is_refused" {
  command = plan

  variables {
    name = ""
  }

  expect_failures = [var.name]
}
