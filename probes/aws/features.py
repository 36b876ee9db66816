"""SageMaker Feature Store: feature groups and whether they serve online, offline or both."""

from __future__ import annotations

from auditor.evidence import Strength as S
from probes.aws.scan import Scan


def collect(scan: Scan) -> None:
    # Search returns the online/offline configuration with each group: no per-group Describe
    for result in scan.pages("sagemaker", "Search", "Results", ("feature_store",),
                             max_items=1000, Resource="FeatureGroup"):
        fg = result.get("FeatureGroup") or {}
        name = fg.get("FeatureGroupName", "")
        online = bool((fg.get("OnlineStoreConfig") or {}).get("EnableOnlineStore"))
        offline = bool(fg.get("OfflineStoreConfig"))
        status = fg.get("FeatureGroupStatus")
        scan.evidence("feature_store.definition", S.CONFIGURED,
                      fg.get("FeatureGroupArn") or scan.arn("sagemaker", f"feature-group/{name.lower()}"),
                      tool="sagemaker-feature-store", feature_group=name, status=status,
                      online=online, offline=offline, features=len(fg.get("FeatureDefinitions") or []))
