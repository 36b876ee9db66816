"""The AWS probe against an endpoint that is not AWS, an answer larger than the probe will
hold, and page tokens that go round in a circle."""

from __future__ import annotations

from pathlib import Path

from probes.aws import AwsProbe
from tests.servers._util import foreign_json_api
from tests.servers.aws import FaultProxy
from tests.servers.aws_run import run_probe


def test_a_foreign_json_api_is_not_aws(moto_url: str, tmp_path: Path) -> None:
    with foreign_json_api() as url:
        r = run_probe(url, tmp_path)
    assert r.evidence == []
    [u] = r.unobserved
    assert "does not answer like an AWS API" in u.reason
    assert set(u.signals) == set(AwsProbe.signals)


def test_an_answer_past_max_response_bytes_is_not_read(
        fault_proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    proxy, url = fault_proxy
    proxy.huge["ListNotebookInstances"] = 4 * 1024 * 1024
    r = run_probe(url, tmp_path, max_response_bytes=65536)
    [u] = [u for u in r.unobserved if "ListNotebookInstances" in u.reason]
    assert u.reason.startswith("sagemaker:ListNotebookInstances: an answer from 127.0.0.1:")
    assert "answer larger than 65536 bytes; not read (max_response_bytes)" in u.reason
    assert "compute.notebook_server" in u.signals
    assert "DescribeAlarms" in proxy.hits  # the audit went on


def test_page_tokens_going_round_in_a_circle_stop_the_listing(
        fault_proxy: tuple[FaultProxy, str], tmp_path: Path) -> None:
    """Tokens A, B, A ...: botocore only notices a token repeated at once; the probe stops at
    the third page instead of asking until its timeout (bounded here at 20 s)."""
    proxy, url = fault_proxy
    proxy.cycle["ListNotebookInstances"] = "NotebookInstances"
    r = run_probe(url, tmp_path, timeout=20)
    [u] = [u for u in r.unobserved if "ListNotebookInstances" in u.reason]
    assert "listing stopped" in u.reason and "same next-page token twice" in u.reason
    assert proxy.hits["ListNotebookInstances"] == 3
