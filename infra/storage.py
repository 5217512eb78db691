"""The buckets: backups, and reports (reports, prune archives, incident reports).

Each bucket: SSE-KMS with the stack's key (bucket key on), versioning, every public access
blocked and ACLs disabled, a policy refusing any request not over TLS, lifecycle rules
(tiers, old versions, incomplete multipart uploads). One KMS key per stack, rotated yearly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import catalog
from infra.naming import child

Rule = aws.s3.BucketLifecycleConfigurationRuleArgs


@dataclass(frozen=True)
class StorageArgs:
    force_destroy: bool = False  # never for production: a stack's removal keeps its data


def _common_rules() -> list[Rule]:
    return [
        Rule(
            id="abort-incomplete-multipart",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=(
                aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=catalog.ABORT_MULTIPART_DAYS
                )
            ),
        ),
        Rule(
            id="old-versions",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            noncurrent_version_expiration=(
                aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=catalog.NONCURRENT_DAYS
                )
            ),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                expired_object_delete_marker=True
            ),
        ),
    ]


def backup_rules() -> list[Rule]:
    tiers = catalog.BACKUP_TIERS
    return [
        Rule(
            id="backup-tiers",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                prefix=f"{catalog.BACKUPS_PREFIX}/"
            ),
            transitions=[
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=tiers["daily"], storage_class="STANDARD_IA"
                ),
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=tiers["weekly"], storage_class="GLACIER_IR"
                ),
            ],
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=tiers["monthly"]),
        ),
        *_common_rules(),
    ]


def reports_rules() -> list[Rule]:
    return [
        Rule(
            id="reports-year",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                prefix=f"{catalog.REPORTS_PREFIX}/"
            ),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                days=catalog.REPORTS_DAYS
            ),
        ),
        Rule(
            id="archive-cold",  # pruned rows are the only copy left: colder, never expired
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                prefix=f"{catalog.ARCHIVE_PREFIX}/"
            ),
            transitions=[
                aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                    days=catalog.BACKUP_TIERS["daily"], storage_class="GLACIER_IR"
                )
            ],
        ),
        *_common_rules(),
    ]


def tls_only_policy(bucket_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "RefuseNonTls",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        },
        sort_keys=True,
    )


class PrivateBucket(pulumi.ComponentResource):
    """One bucket with everything a bucket of ours must have."""

    def __init__(
        self,
        name: str,
        key_arn: pulumi.Input[str],
        rules: Sequence[Rule],
        force_destroy: bool,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("edge:infra:PrivateBucket", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(child(name, "bucket"), force_destroy=force_destroy, opts=here)
        aws.s3.BucketOwnershipControls(
            child(name, "ownership"),
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=here,
        )
        block = aws.s3.BucketPublicAccessBlock(
            child(name, "public-access"),
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=here,
        )
        versioning = aws.s3.BucketVersioning(
            child(name, "versioning"),
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=here,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            child(name, "encryption"),
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key_arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=here,
        )
        aws.s3.BucketPolicy(
            child(name, "policy"),
            bucket=bucket.id,
            policy=bucket.arn.apply(tls_only_policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
        aws.s3.BucketLifecycleConfiguration(
            child(name, "lifecycle"),
            bucket=bucket.id,
            rules=list(rules),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        self.name = bucket.bucket
        self.arn = bucket.arn
        self.register_outputs({"name": bucket.bucket, "arn": bucket.arn})


class Storage(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Storage", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            child(name, "key"),
            description=f"{name}: buckets, secrets, database, volumes",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=here,
        )
        aws.kms.Alias(
            child(name, "key-alias"), name=f"alias/{name}", target_key_id=key.id, opts=here
        )
        self.key_arn = key.arn
        self.backups = PrivateBucket(
            child(name, "backups"), key.arn, backup_rules(), args.force_destroy, here
        )
        self.reports = PrivateBucket(
            child(name, "reports"), key.arn, reports_rules(), args.force_destroy, here
        )
        self.register_outputs(
            {
                "key_arn": key.arn,
                "backups_bucket": self.backups.name,
                "reports_bucket": self.reports.name,
            }
        )
