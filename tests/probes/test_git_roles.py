"""Every path has a role: tests establish testing (and test-data checks) only, documentation and
samples establish nothing, examples and templates count but are marked, vendored and generated
code establishes nothing."""

from __future__ import annotations

import pytest

from probes.git.roles import may_establish, role_of
from tests.repos import audit_repo, files_of, make_repo


@pytest.mark.parametrize("path, role", [
    ("src/churn/train.py", "source"),
    ("notebooks/explore.ipynb", "source"),
    (".github/workflows/ci.yml", "source"),
    ("tests/test_train.py", "test"),
    ("src/churn/train_test.py", "test"),
    ("src/churn/model_tests.py", "test"),
    ("src/churn/tests_model.py", "test"),
    ("pkg/conftest.py", "test"),
    ("benchmarks/bench_serving.py", "test"),
    ("docs/permissions/aws.yaml", "docs"),
    ("README.md", "docs"),
    ("model_card.md", "docs"),
    ("examples/quickstart/train.py", "example"),
    ("tutorials/01_tracking.ipynb", "example"),
    ("{{cookiecutter.project_slug}}/src/train.py", "template"),
    ("templates/job.yaml.j2", "template"),
    ("charts/model/templates/deployment.yaml", "source"),  # Helm templates are deployment config
    ("vendor/github.com/x/y.go", "vendored"),
    ("third_party/evidently/report.py", "vendored"),
    ("api/gen/model_pb2.py", "generated"),
])
def test_role_of_each_path(path, role):
    assert role_of(path) == role


def test_what_each_role_may_establish():
    assert may_establish("test", "quality.tests") and may_establish("test", "data_validation.check")
    assert not may_establish("test", "feature_store.definition")
    assert may_establish("docs", "docs.model_card") and not may_establish("docs", "security.access_control")
    assert may_establish("example", "serving.deployment") and may_establish("template", "tool.serving")
    assert not may_establish("vendored", "tool.monitoring") and not may_establish("generated", "ci.pipeline")


FEAST = ("from feast import Entity, FeatureView\n"
         "customer = Entity(name='customer')\nview = FeatureView(name='v', entities=[customer])\n")


def test_tests_establish_testing_and_data_checks_only(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "tests/test_features.py": FEAST + "\n\ndef test_view():\n    assert view.name == 'v'\n",
        "tests/test_data.py": ("import pandera as pa\n\n\ndef test_schema(df):\n"
                               "    pa.DataFrameSchema({'id': pa.Column(int)}).validate(df)\n"),
    })
    evidence, _ = audit_repo(repo, tmp_path)
    assert files_of(evidence, "quality.tests") == {"tests/test_data.py"}
    assert files_of(evidence, "data_validation.check") == {"tests/test_data.py"}
    assert not [e for e in evidence if e.signal.startswith(("feature_store.", "tool."))]
    assert {e.attributes["role"] for e in evidence if "role" in e.attributes} == {"test"}


def test_documentation_and_permission_samples_establish_nothing(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "docs/permissions/kubernetes.yaml": ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\n"
                                            "metadata:\n  name: auditor\nrules: []\n"),
        "docs/examples/serve.yaml": ("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
                                     "metadata:\n  name: churn\nspec: {}\n"),
        "docs/requirements.txt": "mkdocs==1.6.0\nmlflow==2.16.0\n",
        "docs/model_card.md": "# Model card\n## Intended use\nx\n## Limitations\ny\n",
    })
    evidence, _ = audit_repo(repo, tmp_path)
    signals = {e.signal for e in evidence if not e.signal.startswith(("vcs.", "tempo."))}
    assert signals == {"docs.model_card"}  # a model card is documentation: it counts


def test_examples_and_templates_count_but_are_marked(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "examples/serving/app.py": ("import bentoml\n\n\n@bentoml.service\nclass Churn:\n"
                                    "    @bentoml.api\n    def predict(self, x: list) -> list:\n        return x\n"),
        "{{cookiecutter.slug}}/Dockerfile": "FROM python:3.11-slim\n",
    })
    evidence, _ = audit_repo(repo, tmp_path)
    serving = [e for e in evidence if e.signal == "serving.deployment"]
    assert [e.attributes["role"] for e in serving] == ["example"]
    image = [e for e in evidence if e.signal == "env.container_image"]
    assert [e.attributes["role"] for e in image] == ["template"]


def test_vendored_and_generated_code_establish_nothing(tmp_path):
    repo = make_repo(tmp_path / "r", {
        "third_party/evidently/job.py": "from evidently.report import Report\nReport(metrics=[])\n",
        "src/gen/api_pb2.py": "import mlflow\nmlflow.start_run()\n",
    })
    evidence, _ = audit_repo(repo, tmp_path)
    assert not [e for e in evidence if not e.signal.startswith(("vcs.", "tempo."))]
