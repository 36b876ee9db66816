"""Builders of AWS accounts on a moto server, shared by the tests and the benchmark."""

from __future__ import annotations

import contextlib
import json
from typing import Any

ACCOUNT = "123456789012"
ROLE_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
     "Action": "sts:AssumeRole"}]}
IMAGE = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/train:1.0"


def client(url: str, service: str, region: str = "eu-west-1", **kw: Any) -> Any:
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=url,
                        aws_access_key_id=kw.get("key", "AKIAMOTOFAKE00000001"),
                        aws_secret_access_key=kw.get("secret", "moto-fake-secret-0001"))


def sagemaker_role(url: str) -> str:
    iam = client(url, "iam")
    try:
        return iam.create_role(RoleName="sagemaker-execution",
                               AssumeRolePolicyDocument=json.dumps(ROLE_TRUST))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName="sagemaker-execution")["Role"]["Arn"]


def research_account(url: str, region: str = "eu-west-1") -> None:
    """A team that only explores: a Studio domain, a notebook, a data bucket, an ECR repo."""
    role = sagemaker_role(url)
    sm = client(url, "sagemaker", region)
    sm.create_domain(DomainName="research", AuthMode="IAM", VpcId="vpc-1", SubnetIds=["subnet-1"],
                     DefaultUserSettings={"ExecutionRole": role})
    sm.create_notebook_instance(NotebookInstanceName="explore", InstanceType="ml.t3.medium",
                                RoleArn=role, DirectInternetAccess="Enabled")
    s3 = client(url, "s3", region)
    s3.create_bucket(Bucket="research-data", CreateBucketConfiguration={"LocationConstraint": region})
    ecr = client(url, "ecr", region)
    ecr.create_repository(repositoryName="notebook-image")
    _push(ecr, "notebook-image", ["latest"])


def _push(ecr: Any, repo: str, tags: list[str]) -> None:
    for i, tag in enumerate(tags):
        manifest = json.dumps({"schemaVersion": 2, "mediaType":
                               "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"digest": f"sha256:{i:064x}", "size": 1,
                                          "mediaType": "application/vnd.docker.container.image.v1+json"},
                               "layers": []})
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag=tag)


def production_region(url: str, region: str, role: str, n: int = 1) -> None:
    """One region of a production-like ML account (``n`` scales resource counts)."""
    sm = client(url, "sagemaker", region)
    for i in range(n):
        count = 2 if i == 0 else 1
        sm.create_training_job(
            TrainingJobName=f"train-{i}", RoleArn=role,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            OutputDataConfig={"S3OutputPath": "s3://ml-models/out"},
            ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": count,
                            "VolumeSizeInGB": 10},
            StoppingCondition={"MaxRuntimeInSeconds": 3600})
    sm.create_pipeline(PipelineName="retrain", RoleArn=role,
                       PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}))
    sm.start_pipeline_execution(PipelineName="retrain")
    sm.create_model(ModelName="churn", ExecutionRoleArn=role,
                    PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName="churn-config",
        ProductionVariants=[{"VariantName": "main", "ModelName": "churn",
                             "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}],
        DataCaptureConfig={"EnableCapture": True, "InitialSamplingPercentage": 50,
                           "DestinationS3Uri": "s3://ml-data/capture",
                           "CaptureOptions": [{"CaptureMode": "Input"}]})
    for i in range(n):
        sm.create_endpoint(EndpointName=f"churn-{i}", EndpointConfigName="churn-config")
    aas = client(url, "application-autoscaling", region)
    aas.register_scalable_target(ServiceNamespace="sagemaker", ResourceId="endpoint/churn-0/variant/main",
                                 ScalableDimension="sagemaker:variant:DesiredInstanceCount",
                                 MinCapacity=1, MaxCapacity=4)
    for g in range(max(1, n // 10)):
        group = f"churn-model-{g}" if g else "churn-model"
        sm.create_model_package_group(ModelPackageGroupName=group,
                                      ModelPackageGroupDescription="Churn classifier")
        for v in range(max(2, n // 20)):
            sm.create_model_package(
                ModelPackageGroupName=group,
                ModelApprovalStatus="Approved" if v == 0 else "PendingManualApproval",
                InferenceSpecification={"Containers": [{"Image": IMAGE}],
                                        "SupportedContentTypes": ["text/csv"],
                                        "SupportedResponseMIMETypes": ["text/csv"]})
    sm.create_feature_group(
        FeatureGroupName="customers", RecordIdentifierFeatureName="id", EventTimeFeatureName="ts",
        FeatureDefinitions=[{"FeatureName": "id", "FeatureType": "String"},
                            {"FeatureName": "ts", "FeatureType": "String"}],
        OnlineStoreConfig={"EnableOnlineStore": True}, RoleArn=role,
        OfflineStoreConfig={"S3StorageConfig": {"S3Uri": "s3://ml-data/features"}})
    sm.create_model_card(ModelCardName="churn-card", ModelCardStatus="Approved",
                         Content=json.dumps({"model_overview": {"model_description": "churn"}}))
    _monitoring(sm, role)
    _alarms(url, region)
    _events(url, region)
    _cicd(url, region, role)
    ecr = client(url, "ecr", region)
    ecr.create_repository(repositoryName="churn-serving", imageTagMutability="IMMUTABLE",
                          imageScanningConfiguration={"scanOnPush": True})
    _push(ecr, "churn-serving", ["1.0.0", "1.1.0"])
    s3 = client(url, "s3", region)
    name = f"ml-data-{region}"
    kw = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **kw)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k"}}]})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})


def _monitoring(sm: Any, role: str) -> None:
    job = {"ImageUri": IMAGE}
    inp = {"EndpointInput": {"EndpointName": "churn-0", "LocalPath": "/opt/ml/processing/input"}}
    out = {"MonitoringOutputs": [{"S3Output": {"S3Uri": "s3://ml-data/mon", "LocalPath": "/opt/ml/out"}}]}
    res = {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10}}
    sm.create_data_quality_job_definition(
        JobDefinitionName="churn-data-quality", DataQualityAppSpecification=job,
        DataQualityJobInput=inp, DataQualityJobOutputConfig=out, JobResources=res, RoleArn=role)
    sm.create_model_bias_job_definition(
        JobDefinitionName="churn-bias", ModelBiasAppSpecification={**job, "ConfigUri": "s3://c/bias"},
        ModelBiasJobInput={**inp, "GroundTruthS3Input": {"S3Uri": "s3://ml-data/gt"}},
        ModelBiasJobOutputConfig=out, JobResources=res, RoleArn=role)
    sm.create_model_explainability_job_definition(
        JobDefinitionName="churn-shap",
        ModelExplainabilityAppSpecification={**job, "ConfigUri": "s3://c/shap"},
        ModelExplainabilityJobInput=inp, ModelExplainabilityJobOutputConfig=out,
        JobResources=res, RoleArn=role)


def _alarms(url: str, region: str, n: int = 1) -> None:
    cw = client(url, "cloudwatch", region)
    fixer = f"arn:aws:lambda:{region}:{ACCOUNT}:function:rollback-churn"
    for i in range(n):
        dims = [{"Name": "EndpointName", "Value": "churn-0"}, {"Name": "VariantName", "Value": "main"}]
        cw.put_metric_alarm(AlarmName=f"churn-latency-{i}", Namespace="AWS/SageMaker",
                            MetricName="ModelLatency", Dimensions=dims, Statistic="Average",
                            Period=60, EvaluationPeriods=3, Threshold=500000,
                            ComparisonOperator="GreaterThanThreshold",
                            AlarmActions=[f"arn:aws:sns:{region}:{ACCOUNT}:oncall"])
    cw.put_metric_alarm(AlarmName="churn-drift", Namespace="aws/sagemaker/Endpoints/data-metrics",
                        MetricName="feature_baseline_drift_age",
                        Dimensions=[{"Name": "Endpoint", "Value": "churn-0"}],
                        Statistic="Maximum", Period=3600, EvaluationPeriods=1, Threshold=0.2,
                        ComparisonOperator="GreaterThanThreshold", AlarmActions=[fixer])


def _events(url: str, region: str) -> None:
    ev = client(url, "events", region)
    pipeline = f"arn:aws:sagemaker:{region}:{ACCOUNT}:pipeline/retrain"
    ev.put_rule(Name="nightly-retrain", ScheduleExpression="cron(0 2 * * ? *)", State="ENABLED")
    ev.put_targets(Rule="nightly-retrain", Targets=[{"Id": "p", "Arn": pipeline,
                                                      "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events"}])
    ev.put_rule(Name="drift-retrain", State="ENABLED", EventPattern=json.dumps({
        "source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": ["churn-drift"]}}))
    ev.put_targets(Rule="drift-retrain", Targets=[{"Id": "p", "Arn": pipeline,
                                                    "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/events"}])
    sch = client(url, "scheduler", region)
    sch.create_schedule(Name="weekly-batch-score", ScheduleExpression="rate(7 days)",
                        FlexibleTimeWindow={"Mode": "OFF"},
                        Target={"Arn": "arn:aws:scheduler:::aws-sdk:sagemaker:startPipelineExecution",
                                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler",
                                "Input": json.dumps({"PipelineName": "retrain"})})


def _cicd(url: str, region: str, role: str) -> None:
    iam = client(url, "iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="codepipeline", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))
    cp = client(url, "codepipeline", region)
    act = {"runOrder": 1, "configuration": {}}
    cp.create_pipeline(pipeline={
        "name": "churn-deploy", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/codepipeline",
        "artifactStore": {"type": "S3", "location": "ml-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{**act, "name": "src", "outputArtifacts": [{"name": "src"}],
                                            "actionTypeId": {"category": "Source", "owner": "AWS",
                                                             "provider": "S3", "version": "1"}}]},
            {"name": "Approve", "actions": [{**act, "name": "ok", "actionTypeId": {
                "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]},
            {"name": "Deploy", "actions": [{**act, "name": "cfn", "inputArtifacts": [{"name": "src"}],
                                            "actionTypeId": {"category": "Deploy", "owner": "AWS",
                                                             "provider": "CloudFormation",
                                                             "version": "1"}}]},
        ]})
    cb = client(url, "codebuild", region)
    cb.create_project(name="churn-build", serviceRole=role,
                      source={"type": "S3", "location": "ml-artifacts/src.zip", "buildspec":
                              "phases:\n  build:\n    commands:\n      - pytest\n"
                              "      - aws sagemaker update-endpoint --endpoint-name churn-0\n"},
                      artifacts={"type": "NO_ARTIFACTS"},
                      environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                                   "computeType": "BUILD_GENERAL1_SMALL"})


def account_wide(url: str, home: str = "eu-west-1") -> None:
    client(url, "s3", home).create_bucket(Bucket="audit-logs",
                                           CreateBucketConfiguration={"LocationConstraint": home})
    ct = client(url, "cloudtrail", home)
    ct.create_trail(Name="org-trail", S3BucketName="audit-logs", IsMultiRegionTrail=True,
                    EnableLogFileValidation=True)
    ct.start_logging(Name="org-trail")
    client(url, "budgets", "us-east-1").create_budget(AccountId=ACCOUNT, Budget={
        "BudgetName": "ml-monthly", "BudgetType": "COST", "TimeUnit": "MONTHLY",
        "BudgetLimit": {"Amount": "5000", "Unit": "USD"}})


def production_account(url: str, regions: tuple[str, ...] = ("eu-west-1", "us-east-1")) -> None:
    role = sagemaker_role(url)
    for region in regions:
        production_region(url, region, role)
    account_wide(url, regions[0])
