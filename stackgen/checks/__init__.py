"""Validators of generated output: each module's `validate(root, stack)` reads the rendered tree on disk
and returns findings (stackgen.pipeline.VALIDATORS lists them). External tools run through `tools.py`."""
