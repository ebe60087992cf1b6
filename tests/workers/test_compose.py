"""docker-compose.yml against the code: no docker engine here, so the file is checked for
what goes wrong when code and deployment drift apart — a variable the settings do not read
(silently ignored), a command or option the CLI does not have, settings that do not
validate, a service that waits for nothing or is never health-checked."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from api.cli import app as cli_app
from intake.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _interpolate(value: str) -> str:
    """${VAR}, ${VAR:?msg} and ${VAR:-default} as compose would, with a sample value."""
    return re.sub(r"\$\{([A-Z_]+)(?::[?-][^}]*)?\}", lambda m: f"sample-{m.group(1).lower()}",
                  value)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: _interpolate(str(v)) for k, v in env.items()}


def _docintake_env(service: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in _env(service).items() if k.startswith("DOCINTAKE_")}


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _docintake_invocations(service: dict[str, Any]) -> list[list[str]]:
    """Every `docintake …` call in the command, also inside `sh -c "a && b"`."""
    words = _command(service)
    if words[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in re.split(r"&&|;", words[2])
                if shlex.split(part)[:1] == ["docintake"]]
    return [words] if words[:1] == ["docintake"] else []


def _docintake_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if s.get("build")}


def test_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", "minio", "minio-init", "api", "worker"} <= set(services)
    for name in ("postgres", "redis", "minio", "api", "worker"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name}: no health check"
    declared = set(compose.get("volumes") or {})
    for name in ("postgres", "redis", "minio"):
        mounts = [v.split(":")[0] for v in services[name].get("volumes", [])]
        assert any(m in declared for m in mounts), f"{name}: data not on a named volume"
    # scalable: a worker publishes no fixed host port and has no fixed container name
    assert "ports" not in services["worker"] and "container_name" not in services["worker"]
    api_deps = services["api"]["depends_on"]
    assert api_deps["postgres"]["condition"] == "service_healthy"
    assert api_deps["redis"]["condition"] == "service_healthy"
    assert api_deps["minio-init"]["condition"] == "service_completed_successfully"
    # workers start once the API has migrated the database and is ready
    assert services["worker"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    # the bucket the init job creates is the bucket docintake uses
    bucket = _docintake_env(services["api"])["DOCINTAKE_S3_BUCKET"]
    assert f"local/{bucket}" in services["minio-init"]["entrypoint"]


def test_every_docintake_variable_is_a_setting_and_validates(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    services = _docintake_services(compose)
    assert set(services) == {"api", "worker"}
    for name, service in services.items():
        env = _docintake_env(service)
        unknown = {k for k in env if k.removeprefix("DOCINTAKE_").lower() not in fields}
        assert not unknown, f"{name}: settings the code does not read: {sorted(unknown)}"
        settings = load_settings(**{k.removeprefix("DOCINTAKE_").lower(): v
                                    for k, v in env.items() if k != "DOCINTAKE_DATA_DIR"})
        assert settings.environment == "production"
        assert settings.task_mode == "celery", f"{name}: batches would not reach the workers"
        assert settings.object_store == "s3"
        assert settings.database_url and "@postgres:5432/" in settings.database_url
        assert settings.broker_url and settings.broker_url.startswith("redis://redis:6379/")
        assert settings.s3_endpoint.startswith("minio:")
    # API and workers must agree on everything they share
    shared = ("DATABASE_URL", "BROKER_URL", "TASK_QUEUE", "OBJECT_STORE", "S3_ENDPOINT",
              "S3_BUCKET", "S3_ACCESS_KEY", "S3_SECRET_KEY", "BROKER_VISIBILITY_TIMEOUT")
    api, worker = (_docintake_env(services[n]) for n in ("api", "worker"))
    for key in shared:
        assert api.get(f"DOCINTAKE_{key}") == worker.get(f"DOCINTAKE_{key}"), key


def test_every_command_is_one_the_cli_has(compose: dict[str, Any]) -> None:
    group: Any = typer.main.get_command(cli_app)
    seen: dict[str, list[list[str]]] = {}
    for name, service in _docintake_services(compose).items():
        calls = _docintake_invocations(service)
        assert calls, f"{name}: runs no docintake command"
        seen[name] = calls
        for call in calls:
            command, args = group, call[1:]
            while hasattr(command, "commands"):  # a group: descend to the sub-command
                assert args, f"{name}: {call} names no sub-command"
                command = command.commands.get(args[0])
                assert command is not None, f"{name}: unknown command in {call}"
                args = args[1:]
            # parse the arguments exactly as the CLI would (unknown options raise)
            command.make_context(command.name, list(args))
    # the API migrates before serving; the worker runs the worker
    assert [c[1:3] for c in seen["api"]] == [["db", "upgrade"], ["serve", "--host"]]
    assert seen["worker"][0][1] == "worker"
