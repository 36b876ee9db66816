"""The walk over one registry: /v2/ check, repositories, tags, sampled images, referrers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from auditor.errors import ListingCut, NotFound, ProbeError, Unreachable
from auditor.evidence import Evidence, Unobserved
from auditor.http import Transport
from auditor.probe import ProbeCancelled, ProbeContext, Target
from auditor.refs import key_host

from . import credentials
from .client import Refused, RegistryClient, Response, check
from .images import (
    ACCEPT,
    IMAGE_CONFIGS,
    INDEXES,
    LABEL,
    OCI_INDEX,
    Image,
    Malformed,
    apply_annotations,
    apply_config,
    digest_of,
    parse_manifest,
    parse_time,
    pick_child,
)
from .settings import OciSettings
from .signals import SIGNALS, Attached, RepoFacts, repo_evidence
from .tags import TagSet

GLOB_CHARS = set("*?[")

SIG_WORDS = ("signature", "cosign.artifact.sig", "sigstore", "notary")
SBOM_WORDS = ("spdx", "cyclonedx", "syft", "sbom")
ATT_WORDS = ("in-toto", "dsse", "attestation", "provenance", "slsa")


class Walk:
    """State of one collect run (kept on the probe as ``last_walk`` for tests and benchmarks)."""

    def __init__(self, target: Target, ctx: ProbeContext) -> None:
        self.target, self.ctx = target, ctx
        self.s: OciSettings = target.settings
        self.host = urlsplit(self.s.url).netloc.rsplit("@", 1)[-1].lower()
        creds, self.notes = credentials.resolve(self.s, self.host)
        self.creds = creds

        self.client = RegistryClient(self.s.url, creds, Transport.for_settings(
            ctx, self.s, follow_redirects=True))
        self.referrers_supported: bool | None = None if self.s.referrers else False
        self.configs: dict[str, tuple[Any, dict[str, str]]] = {}
        self.repositories: list[str] = []

    def unobserved(self, what: str, reason: str, whole: bool = False) -> Unobserved:
        return self.ctx.unobserved(self.target, what=what, reason=reason,
                                   signals=SIGNALS if whole else ())

    # -- the walk ----------------------------------------------------------------------------
    def run(self) -> Iterator[Evidence | Unobserved]:
        for note in self.notes:
            yield self.unobserved("credentials", note)
        try:
            problem = self.check_api()
            if problem:
                yield self.unobserved(self.s.url, problem, whole=True)
                return
            repos, notes = self.list_repositories()
            for note, whole in notes:
                yield self.unobserved("catalog", note, whole=whole)
            self.repositories = repos
            for repo in repos:
                self.ctx.check()
                try:
                    yield from self.repository(repo)
                except (ProbeCancelled, ProbeError):
                    raise
                except Exception as exc:  # one odd repository must not end the audit
                    yield self.unobserved(f"{self.host}/{repo}",
                                          f"could not be read: {type(exc).__name__}: {exc}")
        except Unreachable as exc:
            yield self.unobserved(self.s.url, exc.reason, whole=True)
        except ProbeError as exc:  # e.g. the auth service refused a scope mid-way
            yield self.unobserved(self.s.url, exc.reason, whole=True)

    def check_api(self) -> str | None:
        """None when ``/v2/`` answers like a registry with our credentials, else the reason."""
        try:
            resp = self.client.request("GET", "/v2/", "application/json")
        except Refused as exc:
            return exc.reason
        api = resp.headers.get("Docker-Distribution-API-Version")
        if resp.status in (401, 403):
            if self.creds:
                return (f"the login from {self.creds.source} was rejected by {self.host} "
                        f"(HTTP {resp.status}); the account needs pull access")
            return (f"{self.host} requires a login (HTTP {resp.status}); set username_env/"
                    "password_env, token_env or an auths entry in docker_config")
        # The distribution API answers /v2/ with its version header; a registry without it
        # answers an empty object. Anything else (a health endpoint's {"status": "ok", ...})
        # is some other service, and its empty "catalog" must not read as an empty registry.
        empty = not resp.body.strip()
        with contextlib.suppress(ValueError):
            empty = empty or json.loads(resp.body) == {}
        if resp.status == 200 and (api or empty):
            return None
        kind = resp.content_type or "no content type"
        if resp.status == 200 or resp.status == 404:
            return (f"not an OCI/Docker registry: GET /v2/ on {self.host} answered HTTP "
                    f"{resp.status} ({kind}) without the registry API header")
        return f"GET /v2/ on {self.host} answered HTTP {resp.status} ({kind})"

    def check_api_quietly(self) -> bool:
        try:
            return self.check_api() is None
        except Unreachable:
            return False

    def first_tags(self, repo: str) -> list[str] | None:
        """The first tag-list page of ``repo``, or None when it does not exist or is hidden."""
        try:
            return next(iter(self.client.pages(f"/v2/{repo}/tags/list?n={self.s.page_size}",
                                               "tags", f"repository:{repo}:pull", 1)), [])
        except (ProbeError, StopIteration):
            return None

    def list_repositories(self) -> tuple[list[str], list[tuple[str, bool]]]:
        """Literal names are taken as they are; globs need the catalog."""
        literal = [p.strip("/") for p in self.s.repositories if not GLOB_CHARS & set(p)]
        if key_host(self.host) == "docker.io":  # Docker Hub's official images live in library/
            literal = [p if "/" in p else f"library/{p}" for p in literal]
        globs = [p.strip("/") for p in self.s.repositories if GLOB_CHARS & set(p)]
        found: list[str] = list(dict.fromkeys(literal))
        notes: list[tuple[str, bool]] = []
        if globs:
            matched: list[str] = []
            try:
                max_pages = max(1, self.s.max_repositories * 50 // self.s.page_size + 1)
                for page in self.client.pages(f"/v2/_catalog?n={self.s.page_size}", "repositories",
                                              "registry:catalog:*", max_pages):
                    self.ctx.check()
                    matched += [r for r in page if any(fnmatchcase(r, g) for g in globs)]
            except NotFound as exc:
                notes.append((f"the catalog API is not offered ({exc.reason}); list repositories "
                              "by name instead of globs", not literal))
            except Refused as exc:
                notes.append((f"catalog not readable: {exc.reason}; the account needs "
                              "registry:catalog:* or list repositories by name", not literal))
            except ProbeError as exc:
                if isinstance(exc, ListingCut):  # page limit: use what was read
                    notes.append((f"catalog read partially: {exc.reason}", False))
                else:
                    notes.append((f"catalog not readable: {exc.reason}", not literal))
            found += [r for r in sorted(set(matched)) if r not in found]
        if len(found) > self.s.max_repositories:
            notes.append((f"{len(found) - self.s.max_repositories} more matching repositories not "
                          f"read (max_repositories={self.s.max_repositories})", False))
            found = found[: self.s.max_repositories]
        return found, notes

    def repository(self, repo: str) -> Iterator[Evidence | Unobserved]:
        scope = f"repository:{repo}:pull"
        what = f"{self.host}/{repo}"
        tags: list[str] = []
        try:
            for page in self.client.pages(f"/v2/{repo}/tags/list?n={self.s.page_size}", "tags",
                                          scope, self.s.max_tag_pages):
                tags += page
        except NotFound as exc:
            yield self.unobserved(what, f"repository not found: {exc.reason}")
            return
        except Refused as exc:
            yield self.unobserved(what, f"tags not readable: {exc.reason}")
            return
        except ProbeError as exc:
            cut = isinstance(exc, ListingCut)
            yield self.unobserved(what, f"tag list {'truncated' if cut else 'unreadable'}: {exc.reason}")
            if not cut or not tags:
                return
        ts = TagSet.of(tags)
        if not ts.image_tags:
            self.ctx.log.info("oci %s: no image tags", what)
            return
        images: dict[str, Image] = {}
        for tag in ts.sample(self.s.max_tags):
            self.ctx.check()
            try:
                image = self.image(repo, tag, scope)
            except Malformed as exc:
                yield self.unobserved(f"{what}:{tag}", f"malformed: {exc}")
                continue
            except Unreachable:
                raise
            except ProbeError as exc:
                yield self.unobserved(f"{what}:{tag}", exc.reason)
                continue
            except ProbeCancelled:
                raise
            except Exception as exc:  # unexpected shapes of JSON: one bad item, go on
                yield self.unobserved(f"{what}:{tag}", f"could not be read: {type(exc).__name__}: {exc}")
                continue
            if image.digest in images:
                images[image.digest].tags.append(tag)
            else:
                images[image.digest] = image
        attached = Attached()
        for digest, kinds in ts.cosign.items():
            for kind in kinds:
                attached.add(digest, kind, "cosign-tag")
        for digest in images:
            if self.referrers_supported is False:
                break
            self.ctx.check()
            try:
                yield from self.referrers(repo, digest, scope, attached)
            except Unreachable:
                raise
            except ProbeError as exc:
                yield self.unobserved(f"{what}@{digest}", f"referrers not readable: {exc.reason}")
                break
        yield from repo_evidence(self.target.name, RepoFacts(
            self.host, repo, ts, list(images.values()), attached, self.ctx.now))

    # -- one image ---------------------------------------------------------------------------
    def _manifest(self, repo: str, ref: str, scope: str) -> tuple[Response, str, dict]:
        resp = self.client.request("GET", f"/v2/{repo}/manifests/{ref}", ACCEPT, scope)
        check(resp, f"manifest {repo}:{ref}")
        try:
            data = json.loads(resp.body)
        except ValueError:
            raise Malformed(f"manifest is not JSON ({resp.content_type or 'no content type'})") from None
        media, doc = parse_manifest(data, resp.content_type)
        return resp, media, doc

    def image(self, repo: str, tag: str, scope: str) -> Image:
        resp, media, doc = self._manifest(repo, tag, scope)
        image = Image(repo, [tag], digest_of(resp.body, resp.headers.get("Docker-Content-Digest")), media)
        apply_annotations(image, doc)
        if media in INDEXES:
            image.platforms = len(doc["manifests"])
            child = pick_child(doc, self.s.platform)
            if child is None:
                raise Malformed("image index lists no manifests")
            _, child_media, doc = self._manifest(repo, child["digest"], scope)
            if child_media in INDEXES:
                raise Malformed("image index nested in an index")
            apply_annotations(image, doc)
        config = doc["config"]
        config_type = str(config.get("mediaType", ""))
        if doc.get("artifactType") or config_type not in IMAGE_CONFIGS:
            image.artifact_type = str(doc.get("artifactType") or config_type or "unknown")
            return image
        image.config_digest = config["digest"]
        if image.config_digest not in self.configs:
            cresp = self.client.request("GET", f"/v2/{repo}/blobs/{image.config_digest}",
                                        "application/json, */*", scope)
            check(cresp, f"config blob of {repo}:{tag}")
            try:
                data = json.loads(cresp.body)
            except ValueError:
                raise Malformed("image config blob is not JSON") from None
            probe = Image(repo, [], "", "")
            apply_config(probe, data)
            self.configs[image.config_digest] = (probe.created, probe.labels)
        created, labels = self.configs[image.config_digest]
        for k, v in labels.items():
            image.labels[k] = v  # config labels win over annotations
        image.created = created or image.created
        if image.created is None:
            image.created = parse_time(image.labels.get(LABEL + "created"))
        return image

    def referrers(self, repo: str, digest: str, scope: str, attached: Attached) -> Iterator[Unobserved]:
        resp = self.client.request("GET", f"/v2/{repo}/referrers/{digest}", OCI_INDEX, scope)
        if resp.status == 404 and self.referrers_supported is None:
            self.referrers_supported = False  # the registry has no referrers API: ask no more
            return
        if resp.status != 200:
            if resp.status not in (404,):
                yield self.unobserved(f"{self.host}/{repo}@{digest}",
                                      f"referrers API answered HTTP {resp.status}")
            return
        self.referrers_supported = True
        try:
            manifests = json.loads(resp.body).get("manifests") or []
        except (ValueError, AttributeError):
            yield self.unobserved(f"{self.host}/{repo}@{digest}", "referrers answer is not an index")
            return
        for m in manifests:
            if not isinstance(m, dict):
                continue
            kind = classify_artifact(str(m.get("artifactType") or m.get("mediaType") or ""))
            if kind:
                attached.add(digest, kind, "referrers")


def classify_artifact(artifact_type: str) -> str | None:
    t = artifact_type.lower()
    if any(w in t for w in SBOM_WORDS):
        return "sbom"
    if any(w in t for w in ATT_WORDS):
        return "att"
    if any(w in t for w in SIG_WORDS):
        return "sig"
    return None
