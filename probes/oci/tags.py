"""Tag classification and the choice of the newest N tags without reading every manifest.

Registries return tags in no useful order (distribution 2.x lists them in directory order),
and a tag's date is only known after reading its manifest and config — two requests per
tag. So the whole tag list (cheap: a few pages) is classified, and the sample whose
manifests are read is chosen by rank: ``latest`` first, then semantic versions highest
first, then everything else (git SHAs, branch tags) in reverse lexical order. Dates read
from the sample then order what is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SEMVER = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?([-+][0-9A-Za-z.+-]*)?$")
GIT_SHA = re.compile(r"^(?:sha-|git-|g)?([0-9a-f]{7,40})$")
COSIGN = re.compile(r"^(sha256)-([0-9a-f]{64})\.(sig|att|sbom)$")
REFERRERS_FALLBACK = re.compile(r"^sha256-[0-9a-f]{64}$")


def kind_of(tag: str) -> str:
    """``semver`` | ``git_sha`` | ``artifact`` (cosign/referrers tags) | ``other``."""
    if COSIGN.match(tag) or REFERRERS_FALLBACK.match(tag):
        return "artifact"
    if SEMVER.match(tag):
        return "semver"
    m = GIT_SHA.match(tag)
    if m and re.search(r"[a-f]", m.group(1)) and re.search(r"\d", m.group(1)):
        return "git_sha"
    return "other"


def semver_key(tag: str) -> tuple:
    m = SEMVER.match(tag)
    assert m
    nums = tuple(int(g) if g else 0 for g in m.groups()[:4])
    pre = m.group(5) or ""
    # a release sorts above its pre-releases; build metadata ("+x") counts as a release
    return nums + (0 if pre.startswith("-") else 1, pre)


@dataclass
class TagSet:
    tags: list[str]
    by_kind: dict[str, list[str]] = field(default_factory=dict)
    #: manifest digest -> artifact kinds attached by cosign tag (``sig``, ``att``, ``sbom``)
    cosign: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, tags: list[str]) -> TagSet:
        ts = cls(sorted(set(tags)))
        for tag in ts.tags:
            ts.by_kind.setdefault(kind_of(tag), []).append(tag)
            m = COSIGN.match(tag)
            if m:
                ts.cosign.setdefault(f"{m.group(1)}:{m.group(2)}", set()).add(m.group(3))
        return ts

    def count(self, kind: str) -> int:
        return len(self.by_kind.get(kind, []))

    @property
    def image_tags(self) -> list[str]:
        return [t for t in self.tags if kind_of(t) != "artifact"]

    @property
    def versioned(self) -> bool:
        return bool(self.count("semver") or self.count("git_sha"))

    def newest_version(self) -> str | None:
        semver = self.by_kind.get("semver")
        return max(semver, key=semver_key) if semver else None

    def ranked(self) -> list[str]:
        """Image tags, most likely newest first (see the module docstring)."""
        semver = sorted(self.by_kind.get("semver", []), key=semver_key, reverse=True)
        rest = sorted((t for t in self.by_kind.get("git_sha", []) + self.by_kind.get("other", [])
                       if t != "latest"), reverse=True)
        head = ["latest"] if "latest" in self.tags else []
        return head + semver + rest

    def sample(self, n: int) -> list[str]:
        return self.ranked()[:n]
