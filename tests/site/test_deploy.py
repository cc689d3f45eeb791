"""The deployment recipe in deploy/: systemd units, the container recipe, the environment file."""

import importlib
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALL_DIR = "/opt/aura"
UNITS = ["aura-web.service", "aura-worker@.service", "aura-migrate.service", "temporal.service"]


def readme_variables() -> set[str]:
    """Return the variables of README.md's configuration table."""
    section = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def env_file(path: Path) -> dict[str, str]:
    """Return the assignments of an environment file as systemd reads it."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip('"')
    return values


def unit_directives(unit: str) -> list[tuple[str, str]]:
    lines = (DEPLOY / unit).read_text().splitlines()
    return [
        tuple(part.strip() for part in line.split("=", 1))
        for line in lines
        if "=" in line and not line.startswith("#")
    ]


def test_the_example_environment_lists_every_configuration_variable_of_the_readme() -> None:
    example = env_file(DEPLOY / "aura.env.example")
    documented = readme_variables()
    assert len(documented) > 30
    assert sorted(documented - set(example)) == []
    # What the example adds beyond the table is the deployment's own, explained in deploy.md.
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for name in set(example) - documented:
        assert f"`{name}`" in guide, name


def test_the_example_environment_passes_check_deploy_once_the_secret_is_filled_in(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        **env_file(DEPLOY / "aura.env.example"),
        "AURA_STATE_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    }
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    env["DJANGO_SECRET_KEY"] = ""
    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert "DJANGO_SECRET_KEY must be set when AURA_ENV=production" in refused.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_units_run_commands_that_exist(unit: str) -> None:
    commands = [value for key, value in unit_directives(unit) if key == "ExecStart"]
    assert commands
    for command in commands:
        argv = shlex.split(command)
        assert argv[0].startswith(f"{INSTALL_DIR}/.venv/bin/")
        assert (ROOT / argv[0].removeprefix(f"{INSTALL_DIR}/")).exists(), argv[0]
        if "manage.py" in argv:
            assert argv[argv.index("manage.py") + 1] in get_commands(), command


def test_the_units_take_their_settings_from_the_environment_file_and_wait_for_temporal() -> None:
    for unit in ("aura-web.service", "aura-worker@.service"):
        directives = unit_directives(unit)
        assert ("EnvironmentFile", "/etc/aura/aura.env") in directives
        after = " ".join(value for key, value in directives if key == "After").split()
        assert {"temporal.service", "postgresql.service", "aura-migrate.service"} <= set(after)
        assert ("User", "aura") in directives
    web = dict(unit_directives("aura-web.service"))
    # The web server starts through the one config file `manage.py up` uses, nothing else.
    assert web["ExecStart"].split()[1:] == ["--config", "python:aura_site.gunicorn_conf"]
    migrate = unit_directives("aura-migrate.service")
    assert ("EnvironmentFile", "/etc/aura/owner.env") in migrate


def test_gunicorn_conf_names_the_application(monkeypatch: pytest.MonkeyPatch) -> None:
    # Importing the ASGI module sets the web server's database environment: for this test only.
    monkeypatch.setattr(os, "environ", os.environ.copy())
    conf = importlib.import_module("aura_site.gunicorn_conf")
    module, _, name = conf.wsgi_app.partition(":")
    assert callable(getattr(importlib.import_module(module), name))


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is missing (Debian package `systemd`)")
    # The units as installed under this checkout, so their executables exist.
    names = []
    for unit in UNITS:
        name = unit.replace("@.", "@1.")
        (tmp_path / name).write_text((DEPLOY / unit).read_text().replace(INSTALL_DIR, str(ROOT)))
        names.append(str(tmp_path / name))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *names], capture_output=True, text=True, cwd=tmp_path
    )
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "")


def containerfile_stages() -> list[list[tuple[str, str]]]:
    """Return the Containerfile's stages as lists of (instruction, arguments)."""
    text = (DEPLOY / "Containerfile").read_text().replace("\\\n", " ")
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction == "FROM":
            stages.append([])
        stages[-1].append((instruction, arguments.strip()))
    return stages


def test_the_container_recipe_is_multi_stage_and_runs_as_a_user_with_repo_files() -> None:
    stages = containerfile_stages()
    assert len(stages) >= 2
    final = stages[-1]
    users = [arguments for instruction, arguments in final if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    for instruction, arguments in (step for stage in stages for step in stage):
        if instruction == "COPY" and not arguments.startswith("--from"):
            for source in arguments.split()[:-1]:
                assert (ROOT / source).exists(), source
    # Every package the project installs is in the image with its templates and static files.
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    copied = {arguments.split()[0] for instruction, arguments in final if instruction == "COPY"}
    assert {package.rstrip("*") for package in packages} <= copied
    cmd = next(arguments for instruction, arguments in final if instruction == "CMD")
    assert cmd.startswith('["gunicorn", "--config", "python:aura_site.gunicorn_conf"')


def test_the_container_collects_static_files_as_its_recipe_says(tmp_path: Path) -> None:
    final = containerfile_stages()[-1]
    env = {**os.environ}
    for instruction, arguments in final:
        if instruction == "ENV":
            pairs = (pair.split("=", 1) for pair in shlex.split(arguments))
            env.update({name: value for name, value in pairs if name != "PATH"})
    env["AURA_STATE_DIR"] = str(tmp_path)
    run = next(arguments for instruction, arguments in final if "collectstatic" in arguments)
    words = shlex.split(run.split("&&")[0])
    assignments = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    argv = [word for word in words if not re.match(r"^[A-Z_]+=", word)]
    assert argv[:3] == ["python", "manage.py", "collectstatic"]
    result = subprocess.run(
        [sys.executable, *argv[1:]],
        cwd=ROOT,
        env={**env, **assignments},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "admin" / "css" / "base.css").exists()
    assert not (tmp_path / "secret_key").exists()  # no key baked into the image
