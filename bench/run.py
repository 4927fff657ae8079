"""Run the benchmarks and refresh bench/RESULTS.md.

    python bench/run.py                 # every benchmark, default sizes
    python bench/run.py seed_demo       # one benchmark by name
    python bench/run.py --quick         # small sizes (a smoke run; results are still saved)
    python bench/run.py seed_demo --full  # also the 1M profiles / 20M events load on PostgreSQL
    python bench/run.py --list | --report  # list benchmarks | only regenerate RESULTS.md

A benchmark is any bench/*.py module with a NAME and a run(quick=False, full=False) that
returns a result dict (see harness.py); run.py finds them itself.

PostgreSQL runs create and drop scratch databases on TEXTPILOT_BENCH_PG_URL
(default postgres://postgres@127.0.0.1:5432/postgres); without it only SQLite is measured.
"""
import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"harness", "run"}


def discover() -> dict:
    """Every bench/*.py module that defines NAME and run(quick=..., full=...): {NAME: module name}."""
    found = {}
    for path in sorted(BENCH_DIR.glob("*.py")):
        if path.stem in NOT_BENCHMARKS or path.stem.startswith("_"):
            continue
        try:
            module = importlib.import_module(path.stem)
        except Exception as exc:  # a broken module must not hide the others
            print(f"skipping {path.name}: cannot import ({exc})", file=sys.stderr)
            continue
        if isinstance(getattr(module, "NAME", None), str) and callable(getattr(module, "run", None)):
            found[module.NAME] = path.stem
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="benchmarks to run by NAME (default: all; see --list)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--full", action="store_true", help="the largest sizes (seed_demo: 1M profiles / 20M events on PostgreSQL)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--report", action="store_true", help="only regenerate RESULTS.md from bench/results/*.json")
    args = parser.parse_args(argv)
    benchmarks = discover()

    if args.list:
        for name, module in benchmarks.items():
            doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()[0]
            print(f"{name:14} {doc}")
        return 0
    if args.report:
        print(f"wrote {harness.regenerate_results_md()}")
        return 0
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(benchmarks)}")

    failed = []
    for name in args.names or list(benchmarks):
        module = importlib.import_module(benchmarks[name])
        print(f"=== {name} ({'quick' if args.quick else 'full' if args.full else 'default'} sizes)", flush=True)
        started = time.perf_counter()
        try:
            result = module.run(quick=args.quick, full=args.full)
        except Exception as exc:  # one failing benchmark must not hide the others' results
            print(f"{name} failed: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        result["loadavg_after"] = harness.load_average()
        path = harness.save_result(result)
        print(f"{name}: {time.perf_counter() - started:,.0f} s, saved {path.relative_to(harness.ROOT)}")
        for run in result["runs"]:
            print(f"  {run['label']}")
            for m in run["metrics"]:
                baseline = f"  (baseline {harness._fmt(m['baseline'], m['unit'])})" if m.get("baseline") is not None else ""
                print(f"    {m['metric']}: {harness._fmt(m['value'], m['unit'])}{baseline}")
    print(f"wrote {harness.regenerate_results_md().relative_to(harness.ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
