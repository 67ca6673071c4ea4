"""Artifact families, one module or package each. A module stackgen.pipeline registers has
`render(stack) -> list[Artifact]` (packaging targets also get what the others produced): pure, no I/O,
clock or randomness."""
