# The import id is the node's name; nothing of a gate lives in the cluster.
terraform import restate_restart_gate.n2 n2
