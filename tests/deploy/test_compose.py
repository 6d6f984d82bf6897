"""compose.yaml and the Dockerfile, checked statically (no container engine runs here)."""

from __future__ import annotations

import re

import click
import pytest

from climasense.cli import cli
from tests.deploy.support import COMPOSE, DEPLOY, ROOT, compose

# Long-running services and what they must be.
EXPECTED = {
    "db",
    "redis",
    "minio",
    "minio-bucket",
    "migrate",
    "api-1",
    "api-2",
    "worker",
    "proxy",
    "prometheus",
    "grafana",
}
ONE_SHOT = {"minio-bucket", "migrate"}
_SECRETS = {
    "POSTGRES_PASSWORD": "p",
    "CLIMASENSE_SECRET_KEY": "s" * 48,
    "MINIO_ROOT_PASSWORD": "m",
    "GRAFANA_ADMIN_PASSWORD": "g",
}
_PINNED = re.compile(r"^[\w./-]+(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$")


def test_the_services_of_the_production_layout() -> None:
    services = compose()["services"]
    assert set(services) == EXPECTED
    assert services["db"]["image"].startswith("timescale/timescaledb:")


def test_every_image_is_pinned_to_a_version() -> None:
    for name, service in compose(_SECRETS)["services"].items():
        image = service["image"]
        assert _PINNED.match(image), (name, image)
        if "build" in service:  # our own image, tagged with the release
            assert image.startswith("climasense:"), name
            continue
        tag = image.split("@", 1)[0].rpartition(":")[2] if ":" in image else ""
        assert "@sha256:" in image or (tag and tag != "latest"), (name, image)
        assert re.search(r"\d", tag or image.split("@")[1]), (name, image)


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in compose()["services"].items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
            continue
        check = service.get("healthcheck")
        assert check, name
        assert check["test"][0] == "CMD", name
        assert service.get("restart") == "unless-stopped", name


def test_the_climasense_commands_are_valid_cli_invocations() -> None:
    services = compose()["services"]
    commands = {name: services[name]["command"] for name in ("migrate", "api-1", "api-2", "worker")}
    assert commands["api-1"] == commands["api-2"]
    assert commands["api-1"][0] == "serve"
    assert "--no-worker" in commands["api-1"]
    assert commands["worker"][0] == "worker"
    assert "--metrics-port" in commands["worker"]
    for name, argv in commands.items():
        # click parses them as the container's entrypoint (`climasense`) would: an unknown
        # command or option fails here.
        sub = cli.get_command(click.Context(cli), argv[0])
        assert isinstance(sub, click.Command), name
        sub.make_context(argv[0], list(argv[1:]))


def test_the_apis_trust_only_the_proxy_and_wait_for_the_migration() -> None:
    services = compose(_SECRETS)["services"]
    proxy_ip = services["proxy"]["networks"]["backend"]["ipv4_address"]
    for name in ("api-1", "api-2"):
        env = services[name]["environment"]
        assert env["CLIMASENSE_TRUSTED_PROXIES"] == proxy_ip
        assert env["CLIMASENSE_PUBLIC_URL"].startswith("https://")
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    for name in ("migrate", "api-1", "worker"):
        env = services[name]["environment"]
        assert env["CLIMASENSE_DATABASE_URL"].startswith("postgresql://climasense:p@db:5432/")
        assert env["CLIMASENSE_REDIS_URL"] == "redis://redis:6379/0"
        assert env["CLIMASENSE_BLOB_URL"].startswith("s3://")
        assert env["CLIMASENSE_LOG_FORMAT"] == "json"


def test_secrets_must_be_given() -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        compose({})


def test_prometheus_scrapes_both_apis_and_the_worker() -> None:
    import yaml

    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    worker_port = compose()["services"]["worker"]["command"][-1]
    assert targets == {"api-1:8000", "api-2:8000", f"worker:{worker_port}"}


def test_the_dockerfile_is_multi_stage_non_root_and_installs_from_the_lock_file() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) >= 2
    assert re.search(r"^USER climasense", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*healthz", text, re.M)
    assert "requirements.lock" in text
    assert "--require-hashes" in text
    ignored = (ROOT / ".dockerignore").read_text()
    assert "!requirements.lock" in ignored
    assert COMPOSE.exists()
