"""`stackgen lint`: semantic checks of a spec and its fresh in-memory render.

Where `stackgen check` proves the generated files are accepted by the real tools, lint proves they
mean what the service promises: every selected metric and label is in the contract, rates run over
counters, alerts are routed deliberately, ports and probes agree across every deployment target,
labels stay bounded. One module per rule family, each exposing `check(ctx) -> Iterator[Diagnostic]` and
listed in stackgen.pipeline.LINT_RULES; `live.py` runs only with `stackgen lint --live`.
"""
