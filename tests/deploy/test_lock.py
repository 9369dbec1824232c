"""requirements.lock (the image) and requirements-dev.lock (CI): every dependency pinned and hashed,
in step with pyproject.toml, and the one CI tests with is the one installed here."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """Canonical name → (version, sha256 hashes) of a pip-compile lock file."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    found: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)\s*(.*)$", line)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", match[3])
            found[canonicalize_name(match[1])] = (match[2], hashes)
    return found


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return [Requirement(r) for r in requirements]


@pytest.mark.parametrize(
    ("lock", "extras"), [("requirements.lock", ("postgres",)), ("requirements-dev.lock", ("postgres", "dev"))]
)
def test_each_lock_pins_and_hashes_every_declared_dependency(lock: str, extras: tuple[str, ...]) -> None:
    locked = pins(REPO / lock)
    assert locked, f"{lock} pins nothing"
    for name, (version, hashes) in locked.items():
        assert hashes, f"{name}=={version} in {lock} has no hash (pip --require-hashes would refuse it)"
    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is declared in pyproject.toml but not in {lock}: run make lock"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (
            f"{lock} pins {name}=={locked[name][0]}, outside pyproject.toml's {requirement}: run make lock"
        )


def test_the_image_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    image, dev = pins(REPO / "requirements.lock"), pins(REPO / "requirements-dev.lock")
    assert {name: pin[0] for name, pin in image.items()} == {name: dev[name][0] for name in image}
    assert "pytest" not in image and "pytest" in dev


def test_this_environment_runs_the_locked_versions() -> None:
    """`make test` installs requirements-dev.lock: what passes here is what the lock says."""
    for name, (version, _) in pins(REPO / "requirements-dev.lock").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # environment markers can leave one out (none do on CPython 3.11 / Linux)
        assert installed == version, f"{name} {installed} is installed, the lock says {version}"
