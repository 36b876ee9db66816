"""Evidence for one repository, built from its tag list and the sampled images."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from auditor.evidence import Evidence, Strength
from auditor.probe import make_evidence
from auditor.refs import base_family, commit_key, digest_key, image_key

from .images import Image
from .tags import TagSet

LIST_CAP = 20

#: signal prefixes this probe emits (an unreachable registry makes them unknown)
SIGNALS = ("image", "tempo.image_age_days", "security.signing", "security.sbom",
           "security.attestation")


@dataclass
class Attached:
    """Signatures, SBOMs and attestations per subject digest, and how they were found."""

    kinds: dict[str, set[str]] = field(default_factory=dict)  # digest -> {sig, sbom, att}
    methods: dict[str, set[str]] = field(default_factory=dict)  # kind -> {cosign-tag, referrers}

    def add(self, digest: str, kind: str, method: str) -> None:
        self.kinds.setdefault(digest, set()).add(kind)
        self.methods.setdefault(kind, set()).add(method)


@dataclass
class RepoFacts:
    host: str  # registry host as in the URL (locators)
    repo: str
    tags: TagSet
    images: list[Image]  # sampled, distinct digests, newest first
    attached: Attached
    now: datetime

    @property
    def key(self) -> str:
        return image_key(self.host, self.repo)

    def locator(self, digest: str | None = None) -> str:
        return f"oci://{self.host}/{self.repo}" + (f"@{digest}" if digest else "")


def _newest_first(images: list[Image]) -> list[Image]:
    dated = sorted((i for i in images if i.created), key=lambda i: i.created, reverse=True)  # type: ignore[arg-type, return-value]
    return dated + [i for i in images if not i.created]


def repo_evidence(target: str, f: RepoFacts) -> Iterator[Evidence]:
    images = _newest_first([i for i in f.images if not i.artifact_type])
    newest = images[0] if images else None
    digests = [i.digest for i in images][:LIST_CAP]
    kinds = {k: f.tags.count(k) for k in ("semver", "git_sha", "other") if f.tags.count(k)}
    ranked = f.tags.ranked()
    attrs: dict = {
        "repository": f.repo, "origin": f"repository:{f.repo}",
        "tool": f.key,
        "tags_total": len(f.tags.image_tags),
        "tag_kinds": kinds,
        "tags": ranked[:LIST_CAP],
        "images_read": len(images),
        "link_keys": [f.key] + [digest_key(d) for d in digests],
    }
    if newest and newest.created:
        attrs["newest_created"] = newest.created.isoformat().replace("+00:00", "Z")
    artifacts = sorted({i.artifact_type for i in f.images if i.artifact_type})
    if artifacts:
        attrs["artifact_types"] = artifacts[:LIST_CAP]
    if f.tags.versioned:
        version = f.tags.newest_version() or next(
            (t for i in images for t in i.tags if t in f.tags.by_kind.get("git_sha", [])),
            f.tags.by_kind["git_sha"][0])
        attrs["version"] = version
        excerpt = f"{f.repo}: {kinds.get('semver', 0)} semver and {kinds.get('git_sha', 0)} git-SHA tags; newest version {version}"
        signal = "image.versioned"
    else:
        attrs["latest_only"] = f.tags.image_tags == ["latest"]
        excerpt = f"{f.repo}: only moving tags ({', '.join(ranked[:5])})"
        signal = "image.unversioned"
    yield make_evidence(signal=signal, strength=Strength.OPERATING, target=target,
                   locator=f.locator(newest.digest if newest else None), attributes=attrs,
                   excerpt=excerpt)

    if newest and newest.created:
        age = (f.now - newest.created).total_seconds() / 86400
        yield make_evidence(signal="tempo.image_age_days", strength=Strength.OPERATING, target=target,
                       locator=f.locator(newest.digest),
                       attributes={"value": round(max(age, 0.0), 1), "unit": "days",
                                   "repository": f.repo, "origin": f"repository:{f.repo}", "tag": newest.tags[0],
                                   "created": attrs["newest_created"]},
                       excerpt=f"{f.repo}:{newest.tags[0]} built {attrs['newest_created']}")

    for image in images:
        revision = image.label("revision")
        if not revision:
            continue
        pattrs: dict = {"repository": f.repo, "origin": f"repository:{f.repo}", "tags": image.tags[:LIST_CAP], "revision": revision,
                        "link_keys": [f.key, digest_key(image.digest)]}
        for name in ("source", "version", "created"):
            if image.label(name):
                pattrs[name] = image.label(name)
        commit = commit_key(revision)
        if commit:
            pattrs["links_to"] = [commit]
        yield make_evidence(signal="image.provenance", strength=Strength.CONFIGURED, target=target,
                       locator=f.locator(image.digest), attributes=pattrs,
                       excerpt=f"org.opencontainers.image.revision={revision}")

    base_image = next((i for i in images if i.label("base.name")), None)
    if base_image:
        base_name = base_image.label("base.name") or ""
        family, version = base_family(base_name)
        battrs = {"tool": f"base-image:{family}", "version": version, "base_name": base_name,
                  "repository": f.repo, "origin": f"repository:{f.repo}", "tags": base_image.tags[:LIST_CAP]}
        if base_image.label("base.digest"):
            battrs["base_digest"] = base_image.label("base.digest")
        yield make_evidence(signal="image.base", strength=Strength.DECLARED, target=target,
                       locator=f.locator(base_image.digest), attributes=battrs,
                       excerpt=f"org.opencontainers.image.base.name={base_name}")

    sampled = {i.digest for i in images}
    for kind, signal, noun in (("sig", "security.signing", "signed"),
                               ("sbom", "security.sbom", "with an SBOM"),
                               ("att", "security.attestation", "with attestations")):
        subjects = sorted(d for d, ks in f.attached.kinds.items() if kind in ks)
        if not subjects:
            continue
        in_sample = [d for d in subjects if d in sampled]
        where = next((i.digest for i in images if i.digest in in_sample), subjects[0])
        yield make_evidence(
            signal=signal, strength=Strength.OPERATING, target=target, locator=f.locator(where),
            attributes={"repository": f.repo, "origin": f"repository:{f.repo}", "method": sorted(f.attached.methods.get(kind, ())),
                        "subjects": len(subjects), "images_read": len(images),
                        "subjects_among_read": len(in_sample)},
            excerpt=f"{f.repo}: {len(subjects)} image(s) {noun}; {len(in_sample)} of the {len(images)} read")
