"""What a CI step does, judged from its command text: test, build image, train, evaluate, deploy,
security scan, data validation, drift monitoring, bot housekeeping."""

from __future__ import annotations

import re

from auditor.lazyre import lazy
from probes.git.detect.words import TRAINS, words

PATTERNS: dict[str, re.Pattern[str]] = {
    "security": lazy(
        r"trivy|snyk|grype|codeql|\bbandit\b|safety\s+check|pip-audit|semgrep|gitleaks|trufflehog|"
        r"dependency-review|anchore|checkov|tfsec|ossf/scorecard|zizmor|detect-secrets|osv-scanner|"
        r"clair|docker\s+scout"),
    "bot": lazy(
        r"actions/stale|actions/first-interaction|actions/labeler|greet|welcome|"
        r"dependabot/fetch-metadata|release-drafter|actions/add-to-project|create-or-update-comment|"
        r"lock-threads|auto-assign|label-sync|issue-triage|close-issue|actions/github-script"),
    "test": lazy(r"\bpytest\b|py\.test|\btox\b|\bnox\b|unittest|make\s+test|npm\s+(run\s+)?test|"
                 r"go\s+test|mvn\s+test|gradle\w*\s+test|\bhatch\s+test|coverage\s+run"),
    "build_image": lazy(
        r"docker\s+(image\s+)?build|docker\s+buildx|docker/build-push-action|buildah\s+(bud|build)|"
        r"kaniko|podman\s+build|docker\s+compose\s+build|gcloud\s+builds\s+submit|az\s+acr\s+build|"
        r"pack\s+build|\bjib\b|docker\s+push|gcr\.io/cloud-builders/docker|bentoml\s+containerize|"
        r"mlflow\s+models\s+build-docker|redhat-actions/buildah-build"),
    "train": lazy(
        r"train[_-]?\w*\.py|\btrain:|dvc\s+repro|mlflow\s+run|kedro\s+run|"
        r"create-training-job|\.fit\(|sagemaker.*training|retrain"),
    "evaluate": lazy(r"\beval(uate|uation)?\b|eval\w*\.py|validate[_-]model|model[_-]validation|"
                     r"mlflow\.evaluate|\bscore\.py|\bbenchmark"),
    "deploy": lazy(
        r"kubectl\s+(apply|set\s+image|rollout|create|replace|patch)|helm\s+(upgrade|install)|"
        r"helmfile\s+(apply|sync)|kustomize\s+build|argocd\s+app\s+(sync|set)|"
        r"sagemaker.*(create-endpoint|update-endpoint|\.deploy|deploy)|"
        r"mlflow\s+models\s+serve|mlflow\s+deployments\s+(create|update)|mlflow\s+sagemaker|"
        r"gcloud\s+(run\s+deploy|app\s+deploy|ai\s+endpoints\s+deploy-model|functions\s+deploy)|"
        r"az\s+(ml\s+(online-(deployment|endpoint)|model\s+deploy|service\s+update)|webapp|containerapp|aks)|"
        r"azuremlmodeldeploy|"
        r"aws\s+(ecs\s+update-service|lambda\s+update-function-code|cloudformation\s+deploy)|"
        r"serverless\s+deploy|terraform\s+apply|cdk\s+deploy|sam\s+deploy|azure/k8s-deploy|"
        r"azure/webapps-deploy|deploy-cloudrun|amazon-ecs-deploy|skaffold\s+(run|deploy)|"
        r"flyctl\s+deploy|bentoml\s+deploy|docker\s+stack\s+deploy|ansible-playbook|"
        r"\bdeploy(ment)?\b.*(model|endpoint|prod|staging|cluster)"),
    "data_validation": lazy(
        r"great_expectations\s+checkpoint|\bgx\s+checkpoint|checkpoint\s+run|soda\s+scan|"
        r"validate[_-]data|data[_-]validation|pandera|tfdv|deequ"),
    "monitor": lazy(r"evidently|\bdrift\b|whylogs|model[_-]monitor|nannyml|alibi[_-]detect"),
    "gate": lazy(r"threshold|--min[-_]\w+|--fail[-_](under|below)|\bgate\b|--baseline"),
}

#: patterns over the words of a step (identifiers split at ``_ - . /`` and camelCase), so that
#: ``run_train_pipeline`` or ``RetrainModel`` read as training while ``constraint`` does not
WORD_PATTERNS: dict[str, re.Pattern[str]] = {
    "train": TRAINS,  # "training data" is data, not training
    "evaluate": lazy(r"\beval(uate|uation|s)?\b"),
    "test": lazy(r"\b(unit|integration|e2e|smoke|functional)\s+tests?\b"),
}

ML_KINDS = ("train", "evaluate", "deploy", "build_image", "data_validation", "monitor")


def classify(text: str) -> set[str]:
    low = text.lower()
    kinds = {kind for kind, pat in PATTERNS.items() if pat.search(low)}
    tokens = words(text)
    kinds |= {kind for kind, pat in WORD_PATTERNS.items() if pat.search(tokens)}
    return kinds


_TAG_FLAG = lazy(r"(?:-t|--tag)[ =]+([^\s'\"]+|'[^']+'|\"[^\"]+\")")
_PUSH = lazy(r"docker\s+(?:image\s+)?push\s+(?:--[\w-]+\s+)*([^\s'\"]+)")


def image_refs(text: str) -> tuple[list[str], bool]:
    """Image references a build step tags or pushes, and whether it pushes."""
    refs = [m.group(1).strip("'\"") for m in _TAG_FLAG.finditer(text)]
    pushes = [m.group(1) for m in _PUSH.finditer(text)]
    pushed = bool(pushes) or "--push" in text or bool(re.search(r"push:\s*true", text))
    return list(dict.fromkeys(refs + pushes)), pushed
