"""Benchmark of the AWS probe against a moto server holding a mid-sized ML estate.

3 regions x (50 buckets, 30 ECR repositories, 200 training jobs, 20 endpoints,
20 model package groups x 10 packages, 30 alarms). Prints wall time (median of runs), API
calls against the minimum (one call per distinct listing plus one per continuation page
the server asked for), peak memory, and how much the regions overlap in time.

    python benchmarks/bench_aws.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter, defaultdict
from http.server import ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.config import build_target  # noqa: E402
from auditor.probe import ProbeContext  # noqa: E402
from probes.aws import AwsProbe  # noqa: E402
from tests.servers import aws_seed  # noqa: E402
from tests.servers._util import free_port, start, stop, wait_for_http  # noqa: E402
from tests.servers.aws import FaultProxy, _handler  # noqa: E402

REGIONS = ("eu-west-1", "us-east-1", "eu-central-1")
SIZES = {"buckets": 50, "repos": 30, "training_jobs": 200, "endpoints": 20, "groups": 20,
         "packages": 10, "alarms": 30}
PER_ITEM = {"GetBucketVersioning", "GetBucketEncryption", "GetPublicAccessBlock",
            "GetBucketLocation", "ListImages", "DescribeNotebookInstance", "DescribeDomain",
            "GetPipeline", "ListTargetsByRule", "GetTrailStatus"}
TOKENS = {"NextToken", "nextToken", "Marker", "ContinuationToken", "PaginationToken"}


def seed(url: str) -> None:
    role = aws_seed.sagemaker_role(url)
    for region in REGIONS:
        sm = aws_seed.client(url, "sagemaker", region)
        for i in range(SIZES["training_jobs"]):
            sm.create_training_job(
                TrainingJobName=f"train-{i}", RoleArn=role,
                AlgorithmSpecification={"TrainingImage": aws_seed.IMAGE, "TrainingInputMode": "File"},
                OutputDataConfig={"S3OutputPath": "s3://ml-models/out"},
                ResourceConfig={"InstanceType": "ml.g5.xlarge", "InstanceCount": 1 + (i % 4 == 0),
                                "VolumeSizeInGB": 10},
                StoppingCondition={"MaxRuntimeInSeconds": 3600})
        sm.create_model(ModelName="m", ExecutionRoleArn=role, PrimaryContainer={"Image": aws_seed.IMAGE})
        sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
            {"VariantName": "main", "ModelName": "m", "InitialInstanceCount": 1,
             "InstanceType": "ml.m5.large"}])
        for i in range(SIZES["endpoints"]):
            sm.create_endpoint(EndpointName=f"ep-{i}", EndpointConfigName="c")
        for g in range(SIZES["groups"]):
            sm.create_model_package_group(ModelPackageGroupName=f"model-{g}")
            for _ in range(SIZES["packages"]):
                sm.create_model_package(ModelPackageGroupName=f"model-{g}",
                                        ModelApprovalStatus="PendingManualApproval",
                                        InferenceSpecification={
                                            "Containers": [{"Image": aws_seed.IMAGE}],
                                            "SupportedContentTypes": ["text/csv"],
                                            "SupportedResponseMIMETypes": ["text/csv"]})
        cw = aws_seed.client(url, "cloudwatch", region)
        for i in range(SIZES["alarms"]):
            cw.put_metric_alarm(AlarmName=f"latency-{i}", Namespace="AWS/SageMaker",
                                MetricName="ModelLatency" if i % 2 else "feature_baseline_drift_x",
                                Dimensions=[{"Name": "EndpointName", "Value": f"ep-{i % 20}"}],
                                Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
        ecr = aws_seed.client(url, "ecr", region)
        for i in range(SIZES["repos"]):
            ecr.create_repository(repositoryName=f"team/model-{i}",
                                  imageScanningConfiguration={"scanOnPush": bool(i % 2)})
            aws_seed._push(ecr, f"team/model-{i}", ["1.0.0", "latest"])
        s3 = aws_seed.client(url, "s3", region)
        kw = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        for i in range(SIZES["buckets"]):
            name = f"ml-data-{region}-{i}"
            s3.create_bucket(Bucket=name, **kw)
            if i % 2:
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


class Recorder:
    """botocore event hooks: every call, the distinct listings, continuation pages, timings."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter = Counter()
        self.streams: set[tuple] = set()
        self.continuations = 0
        self.spans: dict[str, list[float]] = defaultdict(list)

    def before(self, params: dict, model, context: dict | None = None, **_: object) -> None:
        region = (context or {}).get("client_region", "?")
        key = json.dumps({k: v for k, v in params.items() if k not in TOKENS}, sort_keys=True,
                         default=str)
        with self.lock:
            self.calls[(model.service_model.service_name, model.name)] += 1
            if any(k in params for k in TOKENS):
                self.continuations += 1
            else:
                self.streams.add((model.name, region, key))
            self.spans[region].append(time.monotonic())

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def minimum(self) -> int:
        return len(self.streams) + self.continuations


def run_once(url: str, memory: bool = False) -> tuple[float, Recorder, int, int]:
    rec = Recorder()
    target = build_target({"name": "bench", "kind": "aws", "regions": list(REGIONS),
                           "endpoint_url": url, "max_attempts": 2})
    ctx = ProbeContext(probe="aws", cache_dir=Path(tempfile.gettempdir()), timeout=600)
    if memory:
        tracemalloc.start()
    t0 = time.perf_counter()
    items = list(AwsProbe(hooks=(("before-parameter-build", rec.before),)).collect(target, ctx))
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] if memory else 0
    if memory:
        tracemalloc.stop()
    return wall, rec, len(items), peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="AKIAMOTOFAKE00000001",
                      AWS_SECRET_ACCESS_KEY="moto-fake-secret-0001",
                      AWS_EC2_METADATA_DISABLED="true")
    port = free_port()
    log = Path(tempfile.gettempdir()) / "bench-aws-moto.log"
    proc = start([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], str(log))
    proxy = FaultProxy()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(proxy))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        moto = f"http://127.0.0.1:{port}"
        wait_for_http(f"{moto}/moto-api/data.json", proc=proc)
        proxy.reset(moto)  # answers the few read APIs moto lacks with an empty page
        url = f"http://127.0.0.1:{server.server_address[1]}"
        t0 = time.perf_counter()
        seed(url)
        print(f"seeded {len(REGIONS)} regions x {SIZES} in {time.perf_counter() - t0:.1f}s")
        run_once(url)  # warm moto's lazily built backends
        runs = [run_once(url) for _ in range(args.runs)]
        _, _, _, peak = run_once(url, memory=True)
        walls = [r[0] for r in runs]
        wall, rec, n_items, _ = sorted(runs, key=lambda r: r[0])[len(runs) // 2]  # the median run
        spans = {r: max(t) - min(t) for r, t in rec.spans.items() if r in REGIONS}
        per_item = {op: n for (_, op), n in rec.calls.items() if op in PER_ITEM}
        lists = rec.total - sum(per_item.values())
        print(f"wall time: median {wall:.2f}s of {args.runs} runs "
              f"({', '.join(f'{w:.2f}' for w in walls)}); {n_items} evidence/unobserved items")
        print(f"API calls: {rec.total}; minimum {rec.minimum} "
              f"({len(rec.streams)} distinct listings/reads + {rec.continuations} continuation pages); "
              f"ratio {rec.total / rec.minimum:.2f} (target <= 1.2)")
        print(f"  listing/search pages: {lists}; per-item reads with no batch API: "
              + ", ".join(f"{op}={n}" for op, n in sorted(per_item.items()))
              + " (GetBucketLocation only because moto omits BucketRegion from ListBuckets)")
        print("  by operation: " + ", ".join(f"{s}:{o}={n}" for (s, o), n in sorted(rec.calls.items())))
        print(f"regions (median run): busy span {', '.join(f'{r} {s:.2f}s' for r, s in sorted(spans.items()))}; "
              f"sum {sum(spans.values()):.2f}s vs wall {wall:.2f}s "
              f"({'overlapping' if sum(spans.values()) > wall * 1.2 else 'NOT overlapping'})")
        print(f"peak memory (tracemalloc, probe run): {peak / 1e6:.1f} MB")
    finally:
        server.shutdown()
        stop(proc)


if __name__ == "__main__":
    main()
