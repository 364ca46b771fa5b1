# The import id is the node's name (its node-name).
terraform import restate_node.n2 n2
