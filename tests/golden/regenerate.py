"""Rewrite every golden tree from its spec, exactly as `stackgen render` would:

    .venv/bin/python -m tests.golden.regenerate [CASE ...]

Each folder here holding a `stack.yaml` is a case rendered into its `expected/`; the case `fugatto`
is the bundled stack.yaml, whose golden tree is the committed generated/ itself, and each
`examples/NAME` case is examples/NAME/stack.yaml with its committed examples/NAME/generated/.
"""

from __future__ import annotations

import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
ROOT = GOLDEN.parents[1]


def cases() -> dict[str, tuple[Path, Path]]:
    """Case name -> (spec, expected tree)."""
    found = {d.name: (d / "stack.yaml", d / "expected") for d in sorted(GOLDEN.iterdir()) if (d / "stack.yaml").is_file()}
    found["fugatto"] = (ROOT / "stack.yaml", ROOT / "generated")
    # Each example's committed generated/ is its golden tree too, so one regeneration keeps them all in step.
    for d in sorted((ROOT / "examples").iterdir()):
        if (d / "stack.yaml").is_file():
            found[f"examples/{d.name}"] = (d / "stack.yaml", d / "generated")
    return found


def main(argv: list[str]) -> int:
    from stackgen.diagnostics import SpecError
    from stackgen.output.write import write_tree
    from stackgen.pipeline import load_stack, render_stack
    from stackgen.targets import schema

    # Every tree carries the shipped schema; rewrite it first, from the models.
    if schema.write_shipped():
        print(f"{schema.SHIPPED.relative_to(ROOT)}: rewritten from the models")
    known = cases()
    unknown = sorted(set(argv) - set(known))
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}", file=sys.stderr)
        return 2
    for name in argv or sorted(known):
        spec, expected = known[name]
        try:
            artifacts = render_stack(load_stack(spec, expected))
        except SpecError as exc:
            print("\n".join(str(p) for p in exc.problems), file=sys.stderr)
            return 2
        write_tree(expected, artifacts, protected=[spec])
        print(f"{name}: {len(artifacts)} files in {expected.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
