"""deploy/kubernetes: a schema check (kubernetes-validate, pinned) and the layout's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.support import DEPLOY

KUBERNETES_VERSION = "1.31.0"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, document)
        for path in MANIFESTS
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [document for _, document in _documents() if document["kind"] == kind]


@pytest.mark.parametrize(("path", "document"), _documents(), ids=lambda v: getattr(v, "name", ""))
def test_every_manifest_matches_the_kubernetes_schema(path: Path, document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_broken_manifest() -> None:
    broken = dict(_by_kind("HorizontalPodAutoscaler")[0])
    broken["spec"] = {**broken["spec"], "minReplicas": "two"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_layout() -> None:
    deployments = {d["metadata"]["name"]: d for d in _by_kind("Deployment")}
    assert set(deployments) == {"climasense-api", "climasense-worker"}
    api = deployments["climasense-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["args"][0] == "serve"
    assert "--no-worker" in api["args"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["resources"]["requests"]
    worker = deployments["climasense-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert worker["args"][0] == "worker"
    assert [
        hpa["spec"]["scaleTargetRef"]["name"] for hpa in _by_kind("HorizontalPodAutoscaler")
    ] == ["climasense-api"]
    assert [
        job["spec"]["template"]["spec"]["containers"][0]["args"] for job in _by_kind("Job")
    ] == [["migrate"]]
    secret = _by_kind("Secret")[0]
    for container in (api, worker):
        refs = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
        assert refs == {secret["metadata"]["name"], _by_kind("ConfigMap")[0]["metadata"]["name"]}
    # Secrets only in the Secret, never in the ConfigMap.
    config = _by_kind("ConfigMap")[0]["data"]
    assert not {"CLIMASENSE_SECRET_KEY", "CLIMASENSE_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"} & set(
        config
    )
    assert {"CLIMASENSE_SECRET_KEY", "CLIMASENSE_DATABASE_URL"} <= set(secret["stringData"])
    assert _by_kind("Service")
