"""SARIF 2.1.0 for code scanning (GitHub accepts it as uploaded).

One run per audited repository, so a finding never lands on another repository's file: each
run names its repository and commit (``versionControlProvenance``) and the root its paths
are relative to (``originalUriBaseIds``), and has its own ``automationDetails.id`` (GitHub's
category). A result is a capability that blocks the repository's next stage, on every
requested framework. Every result is located — GitHub rejects the whole upload otherwise:
at the file and line of the evidence that makes the capability partial, else at the
repository's front door (its README or manifest, line 1), where a gap with no file of its
own is fixed or documented. Fingerprints depend on the framework and the capability, not on
lines, so an alert survives edits and closes when the capability is met.

Teams and the organisation are not repositories: their placements are in the other formats.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

#: Result level by the blocker's status: a missing capability is a warning, a partial one a
#: note; an unknown one (it blocks only under --strict) a note too, never an accusation.
LEVEL = {"unmet": "warning", "partial": "note", "unknown": "note"}

#: Capabilities that are security controls: GitHub shows their results with a security
#: severity (medium), the rest as quality findings.
SECURITY = {"access_control": "5.0", "security_controls": "5.0", "audit_logging": "4.0"}

#: Files that stand for a repository as a whole, in order of preference.
FRONT_DOORS = ("README.md", "README.rst", "README.txt", "README", "pyproject.toml", "setup.py",
               "setup.cfg", "requirements.txt", "Dockerfile")
BASE_ID = "SRCROOT"
MAX_RELATED = 10


def _fingerprint(framework: str, capability: str) -> str:
    return hashlib.sha256(f"{framework}\0{capability}".encode()).hexdigest()[:32]


class _Repository:
    """What one audited repository's evidence says about where its files are."""

    def __init__(self, target: str, evidence: list[dict[str, Any]], remote: str | None):
        from reports import view

        self.target = target
        self.paths: dict[str, dict[str, Any]] = {}   # evidence id → {"path", "line"}
        self.repo = self.sha = None
        for ev in evidence:
            loc = view.git_locator(ev["locator"])
            if loc is None:
                continue
            self.repo, self.sha = self.repo or loc.repo, self.sha or loc.sha
            if ev["signal"] == "vcs.repository":
                self.repo, self.sha = loc.repo, loc.sha
            if loc.path:
                self.paths[ev["id"]] = {"path": loc.path, "line": loc.line}
        web = view.web_base(remote or self.repo)
        self.uri = web[0] if web else (remote or self.repo)

    def front_door(self) -> dict[str, Any]:
        cited = {p["path"] for p in self.paths.values()}
        for name in FRONT_DOORS:
            if name in cited:
                return {"path": name, "line": 1}
        return {"path": min(cited) if cited else "README.md", "line": 1}

    def run_header(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.repo:
            root = self.repo if self.repo.startswith("file:") else self.uri
            out["originalUriBaseIds"] = {BASE_ID: {"uri": root.rstrip("/") + "/"}}
        if self.uri and self.sha:
            out["versionControlProvenance"] = [{"repositoryUri": self.uri, "revisionId": self.sha,
                                                "mappedTo": {"uriBaseId": BASE_ID}}]
        return out


def _location(place: dict[str, Any], message: str | None = None, index: int | None = None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": place["path"], "uriBaseId": BASE_ID},
                                "region": {"startLine": place.get("line") or 1}}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if index is not None:
        loc["id"] = index
    if message:
        loc["message"] = {"text": message}
    return loc


def _rule(b: dict[str, Any], stage: int) -> dict[str, Any]:
    props: dict[str, Any] = {"tags": ["mlops", "maturity"], "precision": "high",
                             "problem.severity": "warning"}
    if b["capability"] in SECURITY:
        props["tags"].append("security")
        props["security-severity"] = SECURITY[b["capability"]]
    return {"id": b["capability"], "name": "".join(w.title() for w in b["capability"].split("_")),
            "shortDescription": {"text": f"{b['title']} is missing or incomplete"},
            "fullDescription": {"text": f"{b['title']} is required by stage {stage} of the maturity framework."},
            "help": {"text": f"Next step: {b['next_step']}",
                     "markdown": f"**{b['title']}**\n\nNext step: {b['next_step']}"},
            "defaultConfiguration": {"level": "warning"},
            "properties": props}


class SarifReport:
    name = "sarif"
    filename = "mlops-audit.sarif"

    def render(self, assessment: dict[str, Any]) -> str:
        # imported here, not with the module: every run loads each report class for its
        # file name, and most write only some of them
        from reports import view

        doc = view.document(assessment)
        titles = view.framework_titles(doc)
        remotes = view.repository_remotes(doc)
        runs = []
        for scope in doc.scopes("placements"):  # one run a project: its evidence, its results
            if scope["kind"] != "target":
                continue
            name = scope["name"]
            mine = doc.evidence_of(name)
            caps = {(name, c["id"]): c for c in doc.capabilities_of(scope)}
            runs.append(self._run(doc, name, doc.placements_of(scope),
                                  _Repository(name, mine, remotes.get(name)), caps,
                                  {ev["id"]: ev for ev in mine}, titles))
        if not runs:  # nothing to place: an empty run still clears earlier alerts
            runs = [{"tool": self._tool(doc, []), "results": []}]
        sarif = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
                 "runs": runs}
        return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def _tool(doc: Mapping[str, Any], rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {"driver": {"name": "mlops-auditor", "version": doc["tool"]["version"],
                           "semanticVersion": doc["tool"]["version"], "rules": rules}}

    def _run(self, doc: Mapping[str, Any], name: str, placements: list[dict[str, Any]],
             repo: _Repository, caps: dict, evidence: dict, titles: dict[str, str]) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        rule_index: dict[str, int] = {}
        results = []
        for p in placements:
            nxt = p["next_stage"]
            for b in p["blockers"]:
                cid = b["capability"]
                if cid not in rule_index:
                    rule_index[cid] = len(rules)
                    rules.append(_rule(b, nxt["stage"]))
                cited = [i for i in caps.get((name, cid), {}).get("evidence", []) if i in repo.paths]
                primary = repo.paths[cited[0]] if cited else repo.front_door()
                why = f" {b['reason']}." if b.get("reason") else ""
                where = "" if cited else " Nothing in the repository shows it yet."
                result: dict[str, Any] = {
                    "ruleId": cid, "ruleIndex": rule_index[cid], "kind": "fail",
                    "level": LEVEL[b["status"]],
                    "message": {"text": f"{b['title']} is {b['status']} in {name}: it blocks stage "
                                        f"{nxt['stage']} ({nxt['name']}) of {titles[p['framework']]}."
                                        f"{why}{where} Next step: {b['next_step']}"},
                    "locations": [_location(primary)],
                    "partialFingerprints": {"mlopsAuditorFinding/v1": _fingerprint(p["framework"], cid)},
                    "properties": {"framework": p["framework"], "capability": cid,
                                   "status": b["status"], "blocks_stage": nxt["stage"],
                                   "placed_at": p["stage"], "provisional": p["provisional"]},
                }
                related = [_location(repo.paths[i], evidence[i]["signal"], n)
                           for n, i in enumerate(cited[1:MAX_RELATED + 1], 1)]
                if related:
                    result["relatedLocations"] = related
                results.append(result)
        changes = doc.get("changes") or {}
        mine = [c for c in changes.get("placements", []) + changes.get("capabilities", [])
                if c["scope"] == {"kind": "target", "name": name}]
        run: dict[str, Any] = {
            "tool": self._tool(doc, rules),
            "automationDetails": {"id": f"mlops-auditor/{name}/"},
            **repo.run_header(),
            "results": results,
            "properties": {"target": name,
                           "placements": [{"framework": p["framework"], "stage": p["stage"],
                                           "stage_name": p["stage_name"],
                                           "provisional": p["provisional"]} for p in placements],
                           "changes_since_previous_run": mine},
        }
        return run
