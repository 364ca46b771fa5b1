resource "aws_security_group" "restate" {
  name_prefix = "${var.cluster_name}-"
  description = "Restate nodes"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

# Node to node: the fabric port.
resource "aws_vpc_security_group_ingress_rule" "fabric_between_nodes" {
  security_group_id            = aws_security_group.restate.id
  referenced_security_group_id = aws_security_group.restate.id
  ip_protocol                  = "tcp"
  from_port                    = 5122
  to_port                      = 5122
}

resource "aws_vpc_security_group_ingress_rule" "fabric_from_operators" {
  for_each          = toset(var.operator_cidrs)
  security_group_id = aws_security_group.restate.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 5122
  to_port           = 5122
}

resource "aws_vpc_security_group_ingress_rule" "ingress_and_admin_from_clients" {
  for_each          = { for pair in setproduct(var.client_cidrs, [8080, 9070]) : "${pair[0]}-${pair[1]}" => pair }
  security_group_id = aws_security_group.restate.id
  cidr_ipv4         = each.value[0]
  ip_protocol       = "tcp"
  from_port         = each.value[1]
  to_port           = each.value[1]
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.restate.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
}
