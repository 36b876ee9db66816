"""Real git repositories, built with gitpython, that stand for stages 0, 2, 4 and 6 of the
seven-stage framework. Each builder adds to the previous one, so stage N's repository holds
everything stage N-1's does. Commits carry fixed authors and dates, so commit SHAs (and
therefore evidence locators) are the same on every run.

What each stage's files show (signals the git probe reports):

- stage 0: notebooks only — version control, nothing reproducible.
- stage 1 (inside 2): Dockerfile (env.container_image), devcontainer (compute.workspace).
- stage 2: MLflow tracking called in training code (tool.experiment_tracking, configured),
  a CI workflow that tests, builds/pushes an image and deploys with kubectl (ci.pipeline,
  ci.test_step, ci.build_image, ci.deploy_step), a scheduled training workflow (schedule.job,
  ci.train_step scheduled), a Kubernetes Deployment serving the model (serving.deployment).
  No feature store, pipelines, distributed compute or autoscaling: stage 3 is not met.
- stage 4: adds a Kubeflow pipeline (pipeline.definition), Feast features
  (feature_store.definition), a PyTorchJob (distributed.workload), an HPA
  (serving.autoscaling), a PrometheusRule on drift (monitoring.model_rule) and pandera checks
  (data_validation.check). No model registry: stage 5 is not met.
- stage 6: adds model registration (registry.usage, link key model:churn), a KServe
  InferenceService serving models:/churn (the model link), model metadata, lineage (git commit
  tag, dvc.lock), DVC remote and tracked data, an evaluation gate, fairlearn, SHAP, a model
  card, CODEOWNERS, a drift-triggered retraining workflow. No approvals, access control,
  audit logging or cost control: stage 7 is not met.
"""

from __future__ import annotations

import json
from pathlib import Path

AUTHOR = ("Ada Analyst", "ada@example.com")
DATE = "1768478400 +0000"  # 2026-01-15T12:00:00Z


def _notebook(*cells: str) -> str:
    return notebook(*cells)


def notebook(*cells: str, markdown: tuple[str, ...] = (), output: str = "") -> str:
    """A notebook (nbformat 4) with these code cells; ``markdown`` cells come first and every
    code cell prints ``output`` (text that is never code)."""
    md = [{"cell_type": "markdown", "metadata": {}, "source": [line + "\n" for line in m.splitlines()]}
          for m in markdown]
    outputs = [{"output_type": "stream", "name": "stdout", "text": [output]}] if output else []
    return json.dumps({
        "cells": md + [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": outputs,
                        "source": [line + "\n" for line in cell.splitlines()]} for cell in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4, "nbformat_minor": 5}, indent=1)


def make_repo(path: Path | str, files: dict[str, str | bytes]) -> Path:
    """A repository with ``files`` in one commit (fixed author and date)."""
    import git

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    repo = git.Repo.init(path)
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
    repo.index.add(list(files))
    actor = git.Actor(*AUTHOR)
    repo.index.commit("files", author=actor, committer=actor, author_date=DATE, commit_date=DATE)
    repo.close()
    return path


STAGE0 = {
    "README.md": "# Churn\n\nExploration notebooks for the churn model.\n",
    "notebooks/explore.ipynb": _notebook("import pandas as pd\ndf = pd.read_csv('data/churn.csv')",
                                         "df.describe()"),
    "notebooks/model.ipynb": _notebook(
        "from sklearn.linear_model import LogisticRegression\nimport pandas as pd",
        "model = LogisticRegression().fit(X, y)"),
}

STAGE2 = {
    "Dockerfile": (
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY requirements.txt .\n"
        "RUN pip install -r requirements.txt\n"
        "COPY src/ src/\n"
        'CMD ["uvicorn", "churn.api:app", "--host", "0.0.0.0"]\n'),
    ".devcontainer/devcontainer.json": (
        '{\n  // workspace for the data scientists\n  "name": "churn",\n'
        '  "image": "mcr.microsoft.com/devcontainers/python:3.11",\n}\n'),
    "requirements.txt": "mlflow==2.16.0\npandas==2.2.2\nscikit-learn==1.5.1\nfastapi==0.112.0\n",
    "src/churn/__init__.py": "",
    "src/churn/train.py": (
        "import mlflow\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "\n"
        "\n"
        "def train(X, y):\n"
        "    with mlflow.start_run():\n"
        "        model = LogisticRegression().fit(X, y)\n"
        "        mlflow.log_metric('accuracy', model.score(X, y))\n"
        "    return model\n"),
    "src/churn/api.py": (
        "from fastapi import FastAPI\n"
        "\n"
        "app = FastAPI()\n"
        "\n"
        "\n"
        "@app.post('/predict')\n"
        "def predict(row: dict) -> dict:\n"
        "    return {'churn': 0.1}\n"),
    "tests/test_train.py": "def test_placeholder():\n    assert True\n",
    ".github/workflows/ci.yml": (
        "name: ci\n"
        "on:\n"
        "  push:\n"
        "    branches: [main]\n"
        "  pull_request:\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - run: pip install -r requirements.txt\n"
        "      - name: Unit tests\n"
        "        run: pytest -q\n"
        "  deploy:\n"
        "    needs: test\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - name: Build and push image\n"
        "        run: |\n"
        "          docker build -t registry.example.com/churn/api:${{ github.sha }} .\n"
        "          docker push registry.example.com/churn/api:${{ github.sha }}\n"
        "      - name: Deploy\n"
        "        run: kubectl apply -f k8s/\n"),
    ".github/workflows/train.yml": (
        "name: nightly-training\n"
        "on:\n"
        "  schedule:\n"
        "    - cron: '0 3 * * *'\n"
        "  workflow_dispatch:\n"
        "jobs:\n"
        "  train:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - name: Train\n"
        "        run: python -m churn.train\n"),
    ".github/workflows/greetings.yml": (
        "name: greetings\n"
        "on: [issues]\n"
        "jobs:\n"
        "  greet:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/first-interaction@v1\n"
        "        with:\n"
        "          issue-message: Thanks for the report\n"),
    "k8s/deployment.yaml": (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        "metadata:\n"
        "  name: churn-predictor\n"
        "spec:\n"
        "  replicas: 2\n"
        "  template:\n"
        "    spec:\n"
        "      containers:\n"
        "        - name: api\n"
        "          image: registry.example.com/churn/api:1.4.0\n"
        "          command: [uvicorn, churn.api:app]\n"),
}

STAGE4 = {
    "requirements.txt": ("mlflow==2.16.0\npandas==2.2.2\nscikit-learn==1.5.1\nfastapi==0.112.0\n"
                         "kfp==2.8.0\nfeast==0.40.0\npandera==0.20.3\ntorch==2.4.0\n"),
    "pipelines/training_pipeline.py": (
        "from kfp import dsl\n"
        "\n"
        "\n"
        "@dsl.component\n"
        "def train_op():\n"
        "    pass\n"
        "\n"
        "\n"
        "@dsl.pipeline(name='churn-training')\n"
        "def churn_pipeline():\n"
        "    train_op()\n"),
    "feature_repo/feature_store.yaml": "project: churn\nprovider: local\nregistry: data/registry.db\n",
    "feature_repo/features.py": (
        "from datetime import timedelta\n"
        "\n"
        "from feast import Entity, FeatureView, Field\n"
        "\n"
        "customer = Entity(name='customer', join_keys=['customer_id'])\n"
        "customer_stats = FeatureView(name='customer_stats', entities=[customer],\n"
        "                             ttl=timedelta(days=1), schema=[])\n"),
    "src/churn/validate.py": (
        "import pandera as pa\n"
        "\n"
        "schema = pa.DataFrameSchema({'tenure': pa.Column(int, pa.Check.ge(0))})\n"
        "\n"
        "\n"
        "def validate(df):\n"
        "    return schema.validate(df)\n"),
    "k8s/pytorchjob.yaml": (
        "apiVersion: kubeflow.org/v1\n"
        "kind: PyTorchJob\n"
        "metadata:\n"
        "  name: churn-distributed-training\n"
        "spec:\n"
        "  pytorchReplicaSpecs:\n"
        "    Worker:\n"
        "      replicas: 4\n"
        "      template:\n"
        "        spec:\n"
        "          containers:\n"
        "            - name: pytorch\n"
        "              image: registry.example.com/churn/train:1.4.0\n"),
    "k8s/hpa.yaml": (
        "apiVersion: autoscaling/v2\n"
        "kind: HorizontalPodAutoscaler\n"
        "metadata:\n"
        "  name: churn-predictor\n"
        "spec:\n"
        "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: churn-predictor}\n"
        "  minReplicas: 2\n"
        "  maxReplicas: 10\n"),
    "monitoring/rules.yaml": (
        "apiVersion: monitoring.coreos.com/v1\n"
        "kind: PrometheusRule\n"
        "metadata:\n"
        "  name: churn-model\n"
        "spec:\n"
        "  groups:\n"
        "    - name: churn\n"
        "      rules:\n"
        "        - alert: ChurnFeatureDrift\n"
        "          expr: churn_feature_psi > 0.2\n"
        "          for: 1h\n"
        "        - alert: ChurnApiDown\n"
        "          expr: up{job=\"churn-predictor\"} == 0\n"),
}

STAGE6 = {
    "requirements.txt": ("mlflow==2.16.0\npandas==2.2.2\nscikit-learn==1.5.1\nfastapi==0.112.0\n"
                         "kfp==2.8.0\nfeast==0.40.0\npandera==0.20.3\ntorch==2.4.0\n"
                         "fairlearn==0.10.0\nshap==0.46.0\ndvc==3.53.0\n"),
    "src/churn/train.py": (
        "import os\n"
        "\n"
        "import mlflow\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "\n"
        "\n"
        "def train(X, y):\n"
        "    with mlflow.start_run():\n"
        "        mlflow.set_tag('git_commit', os.environ.get('GITHUB_SHA', ''))\n"
        "        mlflow.log_input(mlflow.data.from_pandas(X), context='training')\n"
        "        model = LogisticRegression().fit(X, y)\n"
        "        mlflow.log_metric('accuracy', model.score(X, y))\n"
        "        mlflow.sklearn.log_model(model, 'model', registered_model_name='churn')\n"
        "    client = mlflow.MlflowClient()\n"
        "    client.update_registered_model('churn', description='Monthly churn propensity')\n"
        "    return model\n"),
    "src/churn/evaluate.py": (
        "import mlflow\n"
        "from mlflow.models import MetricThreshold\n"
        "\n"
        "\n"
        "def evaluate(model_uri, data):\n"
        "    return mlflow.evaluate(model_uri, data, targets='churned', model_type='classifier',\n"
        "                           validation_thresholds={'accuracy': MetricThreshold(threshold=0.8)})\n"),
    "src/churn/responsible.py": (
        "import shap\n"
        "from fairlearn.metrics import MetricFrame, selection_rate\n"
        "\n"
        "\n"
        "def fairness(y_true, y_pred, groups):\n"
        "    return MetricFrame(metrics=selection_rate, y_true=y_true, y_pred=y_pred,\n"
        "                       sensitive_features=groups)\n"
        "\n"
        "\n"
        "def explain(model, X):\n"
        "    return shap.TreeExplainer(model).shap_values(X)\n"),
    "serving/inferenceservice.yaml": (
        "apiVersion: serving.kserve.io/v1beta1\n"
        "kind: InferenceService\n"
        "metadata:\n"
        "  name: churn\n"
        "spec:\n"
        "  predictor:\n"
        "    minReplicas: 1\n"
        "    maxReplicas: 5\n"
        "    model:\n"
        "      modelFormat: {name: mlflow}\n"
        "      storageUri: models:/churn/Production\n"),
    "dvc.yaml": ("stages:\n  prepare:\n    cmd: python -m churn.prepare\n    deps: [data/raw.csv]\n"
                 "    outs: [data/train.csv]\n"),
    "dvc.lock": ("schema: '2.0'\nstages:\n  prepare:\n    cmd: python -m churn.prepare\n    deps:\n"
                 "    - path: data/raw.csv\n      md5: 1f3870be274f6c49b3e31a0c6728957f\n"),
    ".dvc/config": "[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://churn-data/dvc\n",
    "data/raw.csv.dvc": "outs:\n- md5: 1f3870be274f6c49b3e31a0c6728957f\n  path: raw.csv\n",
    "docs/model_card.md": (
        "# Model card: churn\n\n## Intended use\nMonthly churn propensity for retention offers.\n\n"
        "## Training data\nCRM snapshots 2023-2025.\n\n## Limitations\nNot for credit decisions.\n"),
    "CODEOWNERS": "* @acme/churn-maintainers\n",
    ".github/pull_request_template.md": "## What changed\n\n## Evaluation results\n",
    "CHANGELOG.md": "# Changelog\n\n## 1.0.0\n- first production model\n",
    ".github/workflows/retrain.yml": (
        "name: retrain-on-drift\n"
        "on:\n"
        "  repository_dispatch:\n"
        "    types: [model-drift-detected]\n"
        "jobs:\n"
        "  retrain:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - name: Retrain\n"
        "        run: python -m churn.train\n"
        "      - name: Evaluate against the threshold\n"
        "        run: python -m churn.evaluate --min-accuracy 0.8\n"
        "      - name: Roll out\n"
        "        run: kubectl apply -f serving/inferenceservice.yaml\n"),
}


def _commit(path: Path, files: dict[str, str], message: str, init: bool = False) -> Path:
    import git

    repo = git.Repo.init(path) if init else git.Repo(path)
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    repo.index.add(list(files))
    actor = git.Actor(*AUTHOR)
    repo.index.commit(message, author=actor, committer=actor, author_date=DATE, commit_date=DATE)
    repo.close()
    return path


def make_stage0_repo(path: Path | str) -> Path:
    """Notebooks only."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return _commit(path, STAGE0, "Exploration notebooks", init=True)


def make_stage2_repo(path: Path | str) -> Path:
    """Stage 1 and 2: container, devcontainer, tracking, CI that deploys, schedule, serving."""
    path = make_stage0_repo(path)
    return _commit(path, STAGE2, "Package training, CI/CD, serving")


def make_stage4_repo(path: Path | str) -> Path:
    """Stage 3 and 4 on top: pipelines, features, distributed training, autoscaling,
    model monitoring, data validation."""
    path = make_stage2_repo(path)
    return _commit(path, STAGE4, "Pipelines, features, monitoring, validation")


def make_stage6_repo(path: Path | str) -> Path:
    """Stage 5 and 6 on top: registry, lineage, data versioning, model health, review."""
    import git

    path = make_stage4_repo(path)
    _commit(path, STAGE6, "Registry, lineage, responsible AI, review")
    repo = git.Repo(path)
    with repo.git.custom_environment(GIT_COMMITTER_DATE=DATE, GIT_COMMITTER_NAME=AUTHOR[0],
                                     GIT_COMMITTER_EMAIL=AUTHOR[1]):
        repo.git.tag("-a", "v1.0.0", "-m", "first production model")
    repo.close()
    return path


def audit_repo(path: Path | str, cache: Path | str, **settings):
    """The git probe over a repository: (evidence, unobserved)."""
    from auditor.evidence import Evidence, Unobserved
    from auditor.probe import ProbeContext, Target
    from probes.git import GitProbe
    from probes.git.settings import GitSettings

    target = Target(name="repo", kind="git", settings=GitSettings(path=str(path), **settings))
    out = list(GitProbe().collect(target, ProbeContext(probe="git", cache_dir=Path(cache), timeout=120)))
    return ([e for e in out if isinstance(e, Evidence)], [u for u in out if isinstance(u, Unobserved)])


def at(evidence, signal: str, **attrs) -> set[str]:
    """``path:line`` of each evidence of ``signal`` whose attributes include ``attrs``."""
    return {e.locator.split("#", 1)[1] for e in evidence if e.signal == signal and "#" in e.locator
            and all(e.attributes.get(k) == v for k, v in attrs.items())}


def files_of(evidence, signal: str, **attrs) -> set[str]:
    """Paths (without lines) of each evidence of ``signal``."""
    return {p.rsplit(":", 1)[0] for p in at(evidence, signal, **attrs)}
