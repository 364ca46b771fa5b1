# The nodes' instance role: read and write snapshots under the cluster's prefix, nothing else.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "restate" {
  name_prefix        = "${var.cluster_name}-node-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "snapshots" {
  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.snapshots.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.cluster_name}/*"]
    }
  }
  statement {
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.snapshots.arn}/${var.cluster_name}/*"]
  }
}

resource "aws_iam_role_policy" "snapshots" {
  role   = aws_iam_role.restate.id
  policy = data.aws_iam_policy_document.snapshots.json
}

resource "aws_iam_instance_profile" "restate" {
  name_prefix = "${var.cluster_name}-node-"
  role        = aws_iam_role.restate.name
}
