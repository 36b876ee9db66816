"""report.html as a person sees it: rendered by Debian's Chromium (headless, no network),
driven by Playwright with the system browser — nothing is downloaded at test time.

Five real repositories in three teams, audited twice (the second run has changes); one
repository has a GitHub remote with a token in its URL, one a GitLab remote, the rest none."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import git
import pytest

from auditor import output
from auditor.audit import run_audit
from auditor.config import AuditConfig, WaiverModel, build_target
from reports.html import HtmlReport
from reports.markdown import MarkdownReport
from tests.repos import make_stage0_repo, make_stage2_repo, make_stage4_repo

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "ghp_R3dactedT0kenValue0123456789abcd"
VIEWPORT = {"width": 1280, "height": 900}


def chromium() -> str:
    """Debian's chromium, next to the interpreter or on PATH; missing is a failure (.ci/run
    installs it), never a skip."""
    here = Path(sys.executable).parent / "chromium"
    found = str(here) if here.exists() else shutil.which("chromium")
    if not found:
        pytest.fail("chromium not found next to the interpreter or on PATH: apt-get install chromium")
    return found


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("html")
    repos = {"churn": make_stage4_repo(tmp / "churn"), "fraud": make_stage2_repo(tmp / "fraud"),
             "scoring": make_stage2_repo(tmp / "scoring"), "notebooks": make_stage0_repo(tmp / "notebooks"),
             "forecast": make_stage0_repo(tmp / "forecast")}
    remotes = {"churn": f"https://{TOKEN}@github.com/acme/churn.git",
               "fraud": "git@gitlab.example.com:risk/fraud.git"}
    for name, url in remotes.items():
        repo = git.Repo(repos[name])
        repo.create_remote("origin", url)
        repo.close()
    teams = {"churn": "retention", "scoring": "retention", "fraud": "risk", "notebooks": "research",
             "forecast": "research"}
    targets = [build_target({"name": n, "kind": "git", "path": str(p), "labels": {"team": teams[n]}})
               for n, p in repos.items()]
    waivers = [WaiverModel(capability="feature_store", scope="team:retention", reason="tabular only")]
    config = AuditConfig(targets=targets, waivers=waivers)
    first = run_audit(config, cache_dir=tmp / "cache")
    previous = output.summary(first)
    previous["placements"][0]["stage"] += 1  # as if a stage had been lost since
    doc = run_audit(config, cache_dir=tmp / "cache", previous=previous)
    page_file = tmp / "report.html"
    page_file.write_text(HtmlReport().render(doc))
    return tmp, repos, doc, page_file


@pytest.fixture(scope="module")
def browser(estate):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=chromium(), headless=True, args=CHROMIUM_FLAGS, viewport=VIEWPORT)
        requests: list[str] = []

        def only_local(route):
            requests.append(route.request.url)
            if route.request.url.startswith("file://"):
                route.continue_()
            elif route.request.url.startswith("https://github.com/"):
                route.fulfill(status=200, body="a blob page", content_type="text/plain")
            else:
                route.abort()

        context.route("**/*", only_local)
        yield context, requests
        context.close()


@pytest.fixture
def page(browser, estate):
    context, requests = browser
    requests.clear()
    page = context.new_page()
    page.goto(estate[3].as_uri())
    yield page
    page.close()


def visible_section(page):
    sections = page.locator("section.scope:visible")
    assert sections.count() == 1
    return sections.first


def test_the_organisation_curve_is_drawn(page, estate):
    doc = estate[2]
    section = visible_section(page)
    assert section.get_attribute("id") == "seven_stages--org--organisation"
    svg = section.locator("svg.curve")
    assert svg.is_visible()
    box = svg.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    org = next(p for p in doc["placements"] if p["scope"]["kind"] == "org")
    points = svg.locator("polyline.met-line").get_attribute("points").split()
    assert len(points) == len(org["profile"])
    bars = svg.locator("rect.bar")
    assert bars.count() == sum(1 for row in org["profile"] for s in ("met", "partial", "unknown", "unmet") if row[s])
    heights = [float(bars.nth(i).get_attribute("height")) for i in range(bars.count())]
    assert all(h > 0 for h in heights)
    assert page.locator("section.scope").count() == len(doc["placements"])  # every scope has its curve


def test_a_scope_can_be_picked(page):
    page.select_option("#scope-picker", "team--retention")
    section = visible_section(page)
    assert section.get_attribute("id") == "seven_stages--team--retention"
    assert "Team retention" in section.locator("h2").inner_text()
    assert "Median of 2 member(s) (" in section.inner_text()
    section.get_by_role("link", name="Target churn").click()  # a member, picked from its team
    assert visible_section(page).get_attribute("id") == "seven_stages--target--churn"
    assert page.locator("#scope-picker").input_value() == "target--churn"


def test_an_evidence_link_resolves_to_the_cited_line(page, estate):
    _, repos, _, _ = estate
    page.select_option("#scope-picker", "target--churn")
    section = visible_section(page)
    section.locator("details.capabilities > summary").click()
    cap = section.locator("details.cap[data-capability='ci_cd_deployment']")
    cap.locator("summary").click()
    item = cap.locator("ul.evidence > li").filter(has=page.locator("blockquote")).first
    link = item.locator("a.source")
    assert link.is_visible()
    href = link.get_attribute("href")
    m = re.fullmatch(r"https://github\.com/acme/churn/blob/([0-9a-f]{40})/(.+)#L(\d+)", href)
    assert m, href
    sha, path, line = m.group(1), m.group(2), int(m.group(3))
    assert sha == git.Repo(repos["churn"]).head.commit.hexsha
    text = subprocess.run(["git", "-C", str(repos["churn"]), "show", f"{sha}:{path}"], check=True,
                          capture_output=True, text=True).stdout.splitlines()
    assert 1 <= line <= len(text)
    excerpt = item.locator("blockquote").inner_text().strip()
    assert any(word in text[line - 1] for word in excerpt.split() if len(word) > 3), (excerpt, text[line - 1])
    assert "why it counts" in cap.inner_text()
    with page.context.expect_page() as opened:
        link.click()
    assert opened.value.url == href
    opened.value.close()


def test_links_follow_the_remote_and_never_carry_its_token(page, estate):
    html = estate[3].read_text()
    assert TOKEN not in html and TOKEN not in page.content()
    page.select_option("#scope-picker", "target--fraud")
    section = visible_section(page)
    section.locator("details.capabilities > summary").click()
    cap = section.locator("details.cap[data-capability='version_control']")
    cap.locator("summary").click()
    assert cap.locator("a.source").first.get_attribute("href").startswith(
        "https://gitlab.example.com/risk/fraud/-/tree/")
    page.select_option("#scope-picker", "target--notebooks")
    section = visible_section(page)
    section.locator("details.capabilities > summary").click()
    cap = section.locator("details.cap[data-capability='version_control']")
    cap.locator("summary").click()
    assert cap.locator("a.source").count() == 0  # no web remote: the locator, as text
    assert cap.locator("code.source").first.get_attribute("title").startswith("git+file://")


def test_self_contained_nothing_fetched(page, browser):
    _, requests = browser
    assert requests and all(u.startswith("file://") for u in requests), requests
    assert page.locator("link, img, iframe, [src]").count() == 0


def test_every_section_of_the_markdown_report_is_there(page, estate):
    doc = estate[2]
    md = MarkdownReport().render(doc)
    wanted = [h[3:] for h in md.splitlines() if h.startswith("## ")
              and not h.startswith(("## Organisation", "## Team `", "## Target `"))]
    assert "Changes since the previous run" in wanted and "Waivers" in wanted
    headings = page.locator("h2").all_inner_texts()
    for title in wanted:
        assert any(h.startswith(title) for h in headings), title
    assert "↓" in page.locator("#changes + p + ul").inner_text()
    assert "mlflow" in page.locator("#tools + table").inner_text()
    assert "last 90 days" in page.locator("#tempo + details table").text_content()


def test_five_repositories_fit_on_a_few_screens(page):
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 5 * VIEWPORT["height"], height
    page.fill("#evidence-filter", "ci.deploy_step")
    shown = page.locator("details.evidence-target li:visible")
    assert shown.count() >= 1
    assert all("ci.deploy_step" in t for t in shown.all_inner_texts())
