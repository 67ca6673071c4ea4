"""`.gitattributes` marks every rendered file as generated (hosting sites collapse them in review) and only
those: specs, sources and docs stay expanded, and no generated file loses its diff."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TREES = ["generated", *(p.relative_to(ROOT).as_posix() for p in sorted(ROOT.glob("examples/*/generated"))),
         *(p.relative_to(ROOT).as_posix() for p in sorted(ROOT.glob("tests/golden/*/expected")))]


def _attrs(paths: list[str]) -> dict[str, dict[str, str]]:
    out = subprocess.run(["git", "check-attr", "--stdin", "-z", "linguist-generated", "gitlab-generated", "diff"],
                         cwd=ROOT, input="\0".join(paths) + "\0", capture_output=True, text=True, check=True).stdout
    fields = out.split("\0")[:-1]
    attrs: dict[str, dict[str, str]] = {}
    for path, attr, value in zip(fields[::3], fields[1::3], fields[2::3], strict=True):
        attrs.setdefault(path, {})[attr] = value
    return attrs


def test_every_rendered_file_is_marked_generated_and_keeps_its_diff():
    assert len(TREES) >= 3 and all((ROOT / t).is_dir() for t in TREES)
    files = [p.relative_to(ROOT).as_posix() for t in TREES for p in sorted((ROOT / t).rglob("*")) if p.is_file()]
    assert files
    for path, attrs in _attrs(files).items():
        assert attrs == {"linguist-generated": "true", "gitlab-generated": "set", "diff": "unspecified"}, path


def test_specs_sources_and_docs_are_not_marked():
    inputs = ["stack.yaml", "README.md", "stackgen/cli.py", "docs/review.md", "templates/logstash.conf.j2",
              *(p.relative_to(ROOT).as_posix() for p in sorted(ROOT.glob("examples/*/stack.yaml"))),
              *(p.relative_to(ROOT).as_posix() for p in sorted(ROOT.glob("tests/golden/*/stack.yaml")))]
    for path, attrs in _attrs(inputs).items():
        assert set(attrs.values()) == {"unspecified"}, path
