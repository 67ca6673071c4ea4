"""Artifact families. Each module has `render(stack) -> list[Artifact]`: pure, no I/O, clock or randomness."""
