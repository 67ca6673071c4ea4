"""The wheel carries the templates and every package, so an installed stackgen renders like a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_wheel_contains_templates_and_all_packages(root: Path, tmp_path: Path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(root)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("stackgen-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (root / "templates").glob("*.j2"):
        assert f"stackgen/templates/{template.name}" in names
    packages = {p.parent.relative_to(root).as_posix() for p in (root / "stackgen").rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    assert "fugatto_lab/__init__.py" in names
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
