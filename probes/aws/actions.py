"""Every AWS API operation the probe calls, and the IAM action each one needs.

This list is the single source of ``docs/permissions/aws-readonly-policy.json``
(``python -m probes.aws.actions`` prints it); tests check that the probe calls nothing else.
"""

from __future__ import annotations

import json

#: (boto3 service name, API operation) in the order the probe uses them
CALLS: tuple[tuple[str, str], ...] = (
    ("sts", "GetCallerIdentity"),
    ("ec2", "DescribeRegions"),
    # SageMaker: research
    ("sagemaker", "ListDomains"),
    ("sagemaker", "DescribeDomain"),
    ("sagemaker", "ListUserProfiles"),
    ("sagemaker", "ListSpaces"),
    ("sagemaker", "ListApps"),
    ("sagemaker", "ListNotebookInstances"),
    ("sagemaker", "DescribeNotebookInstance"),
    # SageMaker: training, pipelines, serving, registry, monitoring, features
    ("sagemaker", "Search"),
    ("sagemaker", "ListProcessingJobs"),
    ("sagemaker", "ListHyperParameterTuningJobs"),
    ("sagemaker", "ListClusters"),
    ("sagemaker", "ListPipelines"),
    ("sagemaker", "ListModelPackageGroups"),
    ("sagemaker", "ListModelPackages"),
    ("sagemaker", "ListModelCards"),
    ("sagemaker", "ListDataQualityJobDefinitions"),
    ("sagemaker", "ListModelQualityJobDefinitions"),
    ("sagemaker", "ListModelBiasJobDefinitions"),
    ("sagemaker", "ListModelExplainabilityJobDefinitions"),
    ("sagemaker", "ListMonitoringSchedules"),
    ("application-autoscaling", "DescribeScalableTargets"),
    # events and CI/CD
    ("events", "ListRules"),
    ("events", "ListTargetsByRule"),
    ("scheduler", "ListSchedules"),
    ("codepipeline", "ListPipelines"),
    ("codepipeline", "GetPipeline"),
    ("codebuild", "ListProjects"),
    ("codebuild", "BatchGetProjects"),
    ("cloudwatch", "DescribeAlarms"),
    # images and data
    ("ecr", "DescribeRepositories"),
    ("ecr", "ListImages"),
    ("s3", "ListBuckets"),
    ("s3", "GetBucketLocation"),
    ("s3", "GetBucketVersioning"),
    ("s3", "GetBucketEncryption"),
    ("s3", "GetPublicAccessBlock"),
    # account: audit, access, cost
    ("cloudtrail", "DescribeTrails"),
    ("cloudtrail", "GetTrailStatus"),
    ("cloudtrail", "LookupEvents"),
    ("iam", "ListRoles"),
    ("budgets", "DescribeBudgets"),
    ("ce", "ListCostAllocationTags"),
)

# IAM action names that differ from "<service>:<Operation>"
_ACTION_NAMES: dict[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("budgets", "DescribeBudgets"): "budgets:ViewBudget",
}

#: operation-name prefixes that only read
READ_ONLY_PREFIXES = ("List", "Describe", "Get", "Search", "BatchGet", "Lookup", "View")


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API call needs: ``sagemaker:ListEndpoints``, ``s3:ListAllMyBuckets``."""
    return _ACTION_NAMES.get((service, operation), f"{service}:{operation}")


def policy_document() -> dict:
    """The least-privilege read-only IAM policy for this probe."""
    actions = sorted({iam_action(s, o) for s, o in CALLS})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MlopsAuditorReadOnly",
                "Effect": "Allow",
                "Action": actions,
                "Resource": "*",
            }
        ],
    }


if __name__ == "__main__":
    print(json.dumps(policy_document(), indent=2))
