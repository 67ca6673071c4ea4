"""Scale: a synthetic stack of 200 and 1000 services renders (time, peak memory), gets a sharded plan from
`stackgen explain capacity`, and the sharded 1000-service output passes `stackgen check` (time recorded).

Run: .venv/bin/python bench/scale_bench.py  (writes bench/results/scale.md; `stackgen check` takes minutes)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_bench import validator_times  # noqa: E402
from synthetic import synthetic_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
STACKGEN = str(Path(PY).parent / "stackgen")
SIZES = (200, 1000)
ALERTS = 8
CHECK_LIMIT_S = 1800  # the bench's cap on the 1000-service check


def scale_spec(services: int, shards: int = 1) -> str:
    """The synthetic spec with what a stack of that size needs: its own host ports per service, no files
    beside the spec (build context, OpenAPI), and an HA pair of `shards` shards."""
    spec = yaml.load(synthetic_spec(services), Loader=yaml.CSafeLoader)
    for i, service in enumerate(spec["services"]):
        service["ports"] = {"http": 20000 + 2 * i, "metrics": 20001 + 2 * i}
        for key in ("build", "openapi", "volumes"):
            service.pop(key, None)
        # 25 alerts x 1000 services pass the 16 MiB limit of a spec file; a large stack has fewer per service
        service["alerts"] = service["alerts"][:ALERTS]
        # No declared label values: the plan counts every label's assumed values (5) in full, the upper bound a
        # team gets before it declares them. With the bundled declarations 1000 services fit one Prometheus.
        for metric in service["metrics"]:
            metric.pop("label_sets", None)
            metric.pop("cardinality", None)
    spec["prometheus"] |= {"replicas": 2, "shards": shards}
    spec["alertmanager"]["replicas"] = 3
    spec.pop("environments", None)
    return yaml.dump(spec, Dumper=yaml.CSafeDumper, sort_keys=False)


def render(spec: Path, out: Path) -> tuple[float, int]:
    """Seconds and peak RSS (KiB, getrusage ru_maxrss) of one render in a fresh process."""
    code = ("import time,sys,resource; from pathlib import Path; t=time.perf_counter();"
            "import stackgen.pipeline as r; from stackgen.output.write import write_tree;"
            "write_tree(Path(sys.argv[2]), r.render_stack(r.load_stack(sys.argv[1])));"
            "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    result = subprocess.run([PY, "-c", code, str(spec), str(out)], check=True, capture_output=True, text=True, cwd=ROOT)
    seconds, rss = result.stdout.split()
    return float(seconds), int(rss)


def main() -> None:
    rows, plan_text, check = [], "", ""
    with tempfile.TemporaryDirectory(prefix="stackgen-scale-") as tmp:
        work = Path(tmp)
        for size in SIZES:
            spec = work / f"spec-{size}" / "stack.yaml"
            spec.parent.mkdir()
            text = scale_spec(size)
            spec.write_text(text)
            plan = subprocess.run([STACKGEN, "explain", "capacity", "--spec", str(spec)], check=True,
                                  capture_output=True, text=True, cwd=ROOT).stdout
            shards = int(re.search(r"recommended: shards: (\d+)", plan).group(1))
            spec.write_text(text.replace("  shards: 1\n", f"  shards: {shards}\n", 1))  # apply the plan
            assert f"shards: {shards}" in spec.read_text()
            seconds, rss = render(spec, spec.parent / "generated")
            files = sum(1 for p in (spec.parent / "generated").rglob("*") if p.is_file())
            rows.append(f"| {size} | {shards} | {seconds:.1f} | {rss / 1024:.0f} | {files} |")
            if size == SIZES[-1]:
                plan_text = plan
                start = time.perf_counter()
                try:
                    result = subprocess.run([STACKGEN, "check", "--no-cache", "--spec", str(spec), "--out",
                                             str(spec.parent / "generated")], capture_output=True, text=True, cwd=ROOT,
                                            timeout=CHECK_LIMIT_S)
                    check = (f"`stackgen check --no-cache` of the sharded {size}-service output: exit "
                             f"{result.returncode} in {time.perf_counter() - start:.0f} s; last line: "
                             f"`{(result.stdout + result.stderr).strip().splitlines()[-1][:200]}`")
                    times = validator_times(spec.parent / "generated", spec)
                    check += "\n\nEach validator alone on it (serially, one run):\n\n| validator | seconds |\n| --- | --- |\n"
                    check += "\n".join(f"| {name} | {seconds:.1f} |" for name, seconds in times)
                except subprocess.TimeoutExpired:
                    check = (f"`stackgen check --no-cache` of the sharded {size}-service output did not finish within "
                             f"{CHECK_LIMIT_S} s (stopped): its promtool unit tests alone are {size} alert and {size} SLO "
                             f"test files")
    tail = plan_text.strip().splitlines()
    out = ROOT / "bench" / "results" / "scale.md"
    out.write_text("\n".join([
        "# Scale: synthetic stacks of 200 and 1000 services",
        "",
        "Measured by `bench/scale_bench.py` on the development box (2 shared cores). Each service is the bundled",
        f"Fugatto service (bench/synthetic.py) with its first {ALERTS} alerts (25 x 1000 services pass the 16 MiB spec",
        "limit) and its SLOs, its own host ports, replicas: 2 and the shards",
        "`stackgen explain capacity` recommends; alertmanager.replicas: 3. Render: one fresh process, load +",
        "render + write; peak memory is that process' getrusage ru_maxrss.",
        "",
        "| services | shards (from the plan) | render s | peak RSS MiB | files |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        check,
        "",
        f"`stackgen explain capacity` for {SIZES[-1]} services (summary lines):",
        "",
        "```",
        *tail[-7:],
        "```",
        "",
    ]))
    print(out.read_text())


if __name__ == "__main__":
    main()
