"""GitHub code scanning's documented rules for a SARIF upload, beyond the 2.1.0 schema
("SARIF support for code scanning": required properties and upload limits). A file that
breaks one is rejected whole, or its results are dropped."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

MAX_RUNS = 20
MAX_RESULTS = 25_000
MAX_RULES = 25_000
MAX_LOCATIONS = 10      # "only one location should be included unless ..." (hard limit 1000)
MAX_TAGS = 20


def problems(doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if doc.get("version") != "2.1.0":
        out.append("version is not 2.1.0")
    runs = doc.get("runs") or []
    if not runs or len(runs) > MAX_RUNS:
        out.append(f"{len(runs)} runs (1 to {MAX_RUNS})")
    categories = set()
    for r, run in enumerate(runs):
        driver = run.get("tool", {}).get("driver", {})
        if not driver.get("name"):
            out.append(f"run {r}: tool.driver.name missing")
        key = (driver.get("name"), run.get("automationDetails", {}).get("id"))
        if key in categories:
            out.append(f"run {r}: a second run of the same tool and category {key}")
        categories.add(key)
        rules = driver.get("rules", [])
        if len(rules) > MAX_RULES or len(run.get("results", [])) > MAX_RESULTS:
            out.append(f"run {r}: too many rules or results")
        for rule in rules:
            props = rule.get("properties", {})
            if len(props.get("tags", [])) > MAX_TAGS:
                out.append(f"rule {rule['id']}: more than {MAX_TAGS} tags")
            sev = props.get("security-severity")
            if sev is not None and not (isinstance(sev, str) and 0 <= float(sev) <= 10):
                out.append(f"rule {rule['id']}: security-severity must be a string from 0.0 to 10.0")
        bases = run.get("originalUriBaseIds", {})
        for vcp in run.get("versionControlProvenance", []):
            if not urlsplit(vcp.get("repositoryUri", "")).scheme or not vcp.get("revisionId"):
                out.append(f"run {r}: versionControlProvenance needs an absolute repositoryUri and a revisionId")
        for i, res in enumerate(run.get("results", [])):
            where = f"run {r} result {i}"
            if not res.get("ruleId"):
                out.append(f"{where}: no ruleId")
            if "ruleIndex" in res and rules[res["ruleIndex"]]["id"] != res.get("ruleId"):
                out.append(f"{where}: ruleIndex points at another rule")
            if not res.get("message", {}).get("text"):
                out.append(f"{where}: no message text")
            locs = res.get("locations") or []
            if not 1 <= len(locs) <= MAX_LOCATIONS:
                out.append(f"{where}: {len(locs)} locations (1 to {MAX_LOCATIONS})")
            for loc in locs + res.get("relatedLocations", []):
                art = loc.get("physicalLocation", {}).get("artifactLocation", {})
                uri = art.get("uri")
                if not uri:
                    out.append(f"{where}: a location without artifactLocation.uri")
                    continue
                if urlsplit(uri).scheme == "" and art.get("uriBaseId") not in bases:
                    out.append(f"{where}: relative uri {uri!r} without a known uriBaseId")
                line = loc["physicalLocation"].get("region", {}).get("startLine", 1)
                if not isinstance(line, int) or line < 1:
                    out.append(f"{where}: startLine {line!r}")
            fps = res.get("partialFingerprints")
            if not fps or not all(isinstance(v, str) and v for v in fps.values()):
                out.append(f"{where}: partialFingerprints missing")
    return out
