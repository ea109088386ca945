"""The deploy kit: examples/Dockerfile, .dockerignore, deploy/docker-compose.yml, deploy/kubernetes.

Each file is checked twice. First by its own tool where one is installed here
(``docker compose config`` or Debian's ``docker-compose config`` for the compose file,
``kubectl kustomize`` for the manifests -- ``kubectl apply --dry-run=client`` still asks
a server for its API groups, so it is tried and skipped when there is none), skipping
with the reason otherwise. Then structurally with PyYAML, always: the image, each
role's command, probes on /readyz, every ``HOOKPOST_*`` variable named being a real
setting, migrations before the processes that need them, and no secret values
committed. The image is built where a container engine answers.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hookpost.config import SECRET_FIELDS, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "examples" / "Dockerfile"
COMPOSE = ROOT / "deploy" / "docker-compose.yml"
KUBE = ROOT / "deploy" / "kubernetes"

#: Variables hookpost reads besides its settings.
_OTHER_VARIABLES = {"HOOKPOST_CONFIG"}
_SECRET_VARIABLES = {f"HOOKPOST_{name.upper()}" for name in SECRET_FIELDS} | {
    "HOOKPOST_DATABASE_URL",
    "POSTGRES_PASSWORD",
}
_COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "pw-from-env",
    "HOOKPOST_ADMIN_TOKEN": "token-from-env",
    "HOOKPOST_SECRET_KEY": "key-from-env",
}


def _known_variables() -> set[str]:
    return {f"HOOKPOST_{name.upper()}" for name in Settings.model_fields} | _OTHER_VARIABLES


def _variables_named(text: str) -> set[str]:
    return set(re.findall(r"\bHOOKPOST_[A-Z0-9_]+\b", text))


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(KUBE.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _manifests() if d["kind"] == kind}


# -- .dockerignore -------------------------------------------------------------------


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        if any(re.fullmatch(regex, c) for c in candidates):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_keys_databases_and_venvs_out_of_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # What a checkout holds after `make run` and `make mutation`: none of it is sent.
    for path in (
        ".venv/bin/python",
        ".venv-mutation/bin/python",
        "hookpost.db",
        "hookpost.db-wal",
        "hookpost.db-shm",
        "hookpost.db-wake/x",
        "data/other.db",
        ".hookpost/admin_token",
        ".hookpost/secret_key",
        "src/.hookpost/secret_key",
        "hookpost.toml",
        ".env",
        "mutants/src/hookpost/core/filters.py",
        ".git/config",
        "src/hookpost/__pycache__/cli.cpython-311.pyc",
        ".mypy_cache/3.11/x.json",
    ):
        assert _ignored(path, patterns), f"{path} would be sent to the image build"
    # What the Dockerfile copies is sent.
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", DOCKERFILE.read_text(), re.M)
    sources = [s for line in copied for s in line.split()]
    assert set(sources) == {"pyproject.toml", "README.md", "LICENSE", "src"}
    for path in ("pyproject.toml", "README.md", "LICENSE", "src/hookpost/__init__.py"):
        assert not _ignored(path, patterns), f"{path} is needed by the build"
    assert (ROOT / "src/hookpost/store/migrations/env.py").exists()
    assert not _ignored("src/hookpost/store/migrations/env.py", patterns)


# -- Dockerfile ------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_with_a_readiness_healthcheck() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", text, re.M)
    assert len(stages) == 2 and stages[0][1] == "build", stages
    final = text.split("\nFROM ")[-1]
    assert "COPY --from=build /opt/hookpost /opt/hookpost" in final
    assert "pip install" not in final  # build tools and pip's cache stay in the first stage
    (user,) = re.findall(r"^USER (\S+)$", final, re.M)
    assert user.split(":")[0] not in ("root", "0")
    assert re.search(rf"useradd .*--uid {user.split(':')[0]}\b", final)
    (check,) = re.findall(r"^HEALTHCHECK (?:[^\n]*\\\n)*[^\n]*", final, re.M)
    assert "/readyz" in check and "HOOKPOST_PORT" in check
    assert _variables_named(text) <= _known_variables()
    assert "HOOKPOST_ADMIN_TOKEN=" not in text and "HOOKPOST_SECRET_KEY=" not in text
    cmd = re.findall(r"^CMD (.+)$", final, re.M)[-1]
    assert "hookpost migrate" in cmd and "hookpost serve" in cmd


def test_the_image_builds() -> None:
    docker = shutil.which("docker") or shutil.which("podman")
    if docker is None:
        pytest.skip("no docker or podman client installed")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"{docker} answers no engine here: {reason}")
    tag = f"hookpost-test:{os.getpid()}"
    build = subprocess.run(
        [docker, "build", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        who = subprocess.run(
            [docker, "run", "--rm", tag, "sh", "-c", "id -u && hookpost --help && ls -A /opt"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert who.returncode == 0, who.stderr
        assert who.stdout.splitlines()[0] != "0"
        assert "migrate" in who.stdout
    finally:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True, timeout=120)


# -- docker compose ------------------------------------------------------------------


def _compose_tool() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=60
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_passes_its_own_tool() -> None:
    tool = _compose_tool()
    if tool is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    env = {**os.environ, **_COMPOSE_ENV}
    out = subprocess.run(
        [*tool, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    resolved = yaml.safe_load(out.stdout)
    assert set(resolved["services"]) == {"postgres", "migrate", "api", "worker"}
    url = resolved["services"]["api"]["environment"]["HOOKPOST_DATABASE_URL"]
    assert url == "postgresql://hookpost:pw-from-env@postgres:5432/hookpost"
    # A secret left unset is an error, not an empty value.
    env.pop("HOOKPOST_SECRET_KEY")
    missing = subprocess.run(
        [*tool, "-f", str(COMPOSE), "config"], capture_output=True, text=True, env=env, timeout=120
    )
    assert missing.returncode != 0 and "HOOKPOST_SECRET_KEY" in missing.stderr


def test_compose_runs_migrate_once_then_one_api_and_two_workers() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "migrate", "api", "worker"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    hookpost = {name: services[name] for name in ("migrate", "api", "worker")}
    for name, svc in hookpost.items():
        assert svc["build"]["dockerfile"] == "examples/Dockerfile", name
        assert (COMPOSE.parent / svc["build"]["context"] / "examples/Dockerfile").exists()
    assert hookpost["migrate"]["command"] == ["hookpost", "migrate"]
    assert hookpost["migrate"]["restart"] == "no"
    assert hookpost["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert hookpost["api"]["command"] == ["hookpost", "serve", "--no-workers"]
    assert hookpost["worker"]["command"] == ["hookpost", "worker"]
    assert hookpost["worker"]["deploy"]["replicas"] == 2
    for name in ("api", "worker"):
        assert hookpost[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }, name
    # The API keeps the image's /readyz healthcheck; a worker has no HTTP port.
    assert "healthcheck" not in hookpost["api"]
    assert hookpost["worker"]["healthcheck"] == {"disable": True}
    # Published on loopback only: a TLS proxy goes in front.
    assert all(p.startswith("127.0.0.1:") for p in hookpost["api"]["ports"])


def test_compose_names_real_settings_and_commits_no_secret() -> None:
    text = COMPOSE.read_text()
    assert _variables_named(text) <= _known_variables()
    services = _compose()["services"]
    envs = [services[name]["environment"] for name in ("migrate", "api", "worker")]
    envs.append(services["postgres"]["environment"])
    for env in envs:
        for key, value in env.items():
            if key in _SECRET_VARIABLES:
                # Interpolated from the operator's environment, required, no default.
                assert re.search(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), (key, value)
                assert ":-" not in str(value), (key, value)
    for env in envs[:3]:
        assert {"HOOKPOST_DATABASE_URL", "HOOKPOST_SECRET_KEY"} <= set(env)


# -- Kubernetes ----------------------------------------------------------------------


def test_kubernetes_manifests_pass_kubectl() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    built = subprocess.run(
        [kubectl, "kustomize", str(KUBE)], capture_output=True, text=True, timeout=120
    )
    assert built.returncode == 0, built.stderr
    kinds = sorted(d["kind"] for d in yaml.safe_load_all(built.stdout) if d)
    assert kinds == ["ConfigMap", "Deployment", "Deployment", "Job", "Service"]
    dry = subprocess.run(
        [kubectl, "apply", "--dry-run=client", "--validate=false", "-k", str(KUBE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if dry.returncode != 0 and "connection refused" in dry.stderr:
        pytest.skip("kubectl apply --dry-run=client needs an API server for discovery; none here")
    assert dry.returncode == 0, dry.stderr


def test_kubernetes_migrate_job_runs_before_api_and_workers() -> None:
    (job,) = _by_kind("Job").values()
    spec = job["spec"]["template"]["spec"]
    (migrate,) = spec["containers"]
    assert migrate["command"] == ["hookpost", "migrate"]
    assert spec["restartPolicy"] in ("OnFailure", "Never")
    deployments = _by_kind("Deployment")
    assert set(deployments) == {"hookpost-api", "hookpost-worker"}
    commands = {}
    for name, dep in deployments.items():
        pod = dep["spec"]["template"]["spec"]
        (wait,) = pod["initContainers"]
        assert "hookpost migrate --check" in " ".join(wait["command"]), name
        (main,) = pod["containers"]
        commands[name] = main["command"]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert commands == {
        "hookpost-api": ["hookpost", "serve", "--no-workers"],
        "hookpost-worker": ["hookpost", "worker"],
    }
    api = deployments["hookpost-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    (service,) = _by_kind("Service").values()
    assert service["spec"]["selector"] == {
        "app.kubernetes.io/name": "hookpost",
        "app.kubernetes.io/component": "api",
    }


def test_kubernetes_pods_are_non_root_and_read_settings_that_exist() -> None:
    for doc in _manifests():
        if doc["kind"] not in ("Job", "Deployment"):
            continue
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"] + pod.get("initContainers", []):
            assert c["image"] == "hookpost"
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            refs = {next(iter(r.values()))["name"] for r in c["envFrom"]}
            assert refs == {"hookpost"}
    (config,) = _by_kind("ConfigMap").values()
    assert set(config["data"]) <= _known_variables()
    # The secret ones are in no manifest: they come from a Secret the operator makes.
    assert not _by_kind("Secret")
    assert not set(config["data"]) & _SECRET_VARIABLES
    for path in KUBE.glob("*.yaml"):
        assert _variables_named(path.read_text()) <= _known_variables(), path
