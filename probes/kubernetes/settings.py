"""Target settings for ``kind: kubernetes`` (validated by audit.yaml loading)."""

from __future__ import annotations

from pydantic import Field, model_validator

from auditor.limits import MAX_RESPONSE_BYTES
from auditor.probe import Settings


class NamespaceSelection(Settings):
    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)


class KubernetesSettings(Settings):
    """Exactly one source: a live cluster (kubeconfig context or in-cluster) or a snapshot folder."""

    context: str | None = None
    kubeconfig: str | None = None
    in_cluster: bool = False
    snapshot: str | None = None
    namespaces: NamespaceSelection = Field(default_factory=NamespaceSelection)
    page_size: int = Field(default=500, ge=1, le=10000)
    #: largest answer read from the API server (one LIST page); a larger one is not read
    max_response_bytes: int = Field(default=MAX_RESPONSE_BYTES, ge=64 * 1024)

    @model_validator(mode="after")
    def _one_source(self) -> KubernetesSettings:
        if self.snapshot and (self.context or self.kubeconfig or self.in_cluster):
            raise ValueError("give either snapshot or a live cluster (context/kubeconfig/in_cluster), not both")
        if self.in_cluster and (self.context or self.kubeconfig):
            raise ValueError("in_cluster: true does not take context or kubeconfig")
        return self

    @property
    def live(self) -> bool:
        return not self.snapshot
