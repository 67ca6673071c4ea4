"""The stackgen wheel carries the templates and every stackgen package, so an installed stackgen renders like a
checkout; the bundled service is its own distribution, and building either leaves the checkout as it was."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _clean_copy(root: Path, dest: Path) -> Path:
    """The checkout's files as a fresh clone would have them (tracked and new, nothing ignored), as its own repository,
    so the build sees no leftovers of earlier builds and nothing the developer has lying around."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, target = root / name, dest / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree, not yet in the index
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    subprocess.run(["git", "init", "-q", str(dest)], check=True)
    return dest


def _status(repo: Path) -> set[str]:
    return set(subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=repo,
                              check=True, capture_output=True, text=True).stdout.splitlines())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, set[str], set[str]]:
    """Both wheels, built from a clean copy of the checkout, and that copy's git status before and after."""
    src = _clean_copy(ROOT, tmp_path_factory.mktemp("checkout"))
    out = tmp_path_factory.mktemp("wheels")
    before = _status(src)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), ".", "./service"], cwd=src, check=True, capture_output=True)
    after = _status(src)
    return next(out.glob("stackgen-*.whl")), next(out.glob("fugatto_audio_lab-*.whl")), before, after


def test_wheel_contains_templates_and_all_packages(root: Path, built: tuple[Path, Path, set[str], set[str]]):
    names = set(zipfile.ZipFile(built[0]).namelist())
    for template in (root / "templates").glob("*.j2"):
        assert f"stackgen/templates/{template.name}" in names
    packages = {p.parent.relative_to(root).as_posix() for p in (root / "stackgen").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    # Data files render and check read at run time: the shipped spec schema and the vendored CRD schemas.
    data = [p.relative_to(root).as_posix() for p in (root / "stackgen").rglob("*") if p.suffix in (".json", ".yaml")]
    assert "stackgen/targets/stack.schema.json" in data
    assert set(data) <= names, set(data) - names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)


def test_stackgen_wheel_leaves_the_service_out(built: tuple[Path, Path, set[str], set[str]]):
    names = zipfile.ZipFile(built[0]).namelist()
    assert not [n for n in names if n.startswith("fugatto_lab")]
    assert all(n.startswith(("stackgen/", "stackgen-")) for n in names), names


def test_service_wheel_carries_fugatto_lab_and_pins_torch(root: Path, built: tuple[Path, Path, set[str], set[str]]):
    wheel = zipfile.ZipFile(built[1])
    names = set(wheel.namelist())
    modules = {p.relative_to(root / "service").as_posix() for p in (root / "service" / "fugatto_lab").glob("*.py")}
    assert modules and modules <= names
    assert all(n.startswith(("fugatto_lab/", "fugatto_audio_lab-")) for n in names), names
    metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: torch==2.13.0" in metadata.splitlines()


def test_building_leaves_the_checkout_clean(built: tuple[Path, Path, set[str], set[str]]):
    _, _, before, after = built
    assert after == before, sorted(after - before)
