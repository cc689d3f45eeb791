"""Run every benchmark, one after the other, and print one table of the results.

    .venv/bin/python bench/run_all.py [--only NAME ...]

Each benchmark's own output goes to bench/results/NAME.log (not committed); the results go to
bench/results/latest.json (committed: the figures docs/performance.md quotes). A benchmark
that fails is reported as such, and the others still run.
"""

import argparse
import json
import subprocess
import sys
import time

from common import RESULTS, ROOT, load_average

BENCHMARKS = [
    "audit_append",
    "audit_scale",
    "crisis_e2e",
    "trigger_latency",
    "epoch_lifecycle",
    "lists",
    "phase_scaling",
    "worker_footprint",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, default=BENCHMARKS)
    args = parser.parse_args()
    if args.only == BENCHMARKS:
        RESULTS.unlink(missing_ok=True)  # a full run replaces every figure
    failed = []
    for name in args.only:
        log = RESULTS.parent / f"{name}.log"
        print(f"{name:<16} running (load {load_average()})...", end=" ", flush=True)
        started = time.monotonic()
        with open(log, "w") as out:
            done = subprocess.run(
                [sys.executable, f"bench/{name}.py"],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        took = time.monotonic() - started
        print(f"{'done' if done.returncode == 0 else 'FAILED'} in {took:.0f} s ({log.name})")
        if done.returncode:
            failed.append(name)

    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    width = max(len(entry["name"]) for entry in results) if results else 10
    print()
    print(f"{'benchmark':<{width}}  {'met':<4}  {'load':<5}  result  [target]")
    for entry in results:
        met = {True: "yes", False: "NO", None: "-"}[entry["met"]]
        print(
            f"{entry['name']:<{width}}  {met:<4}  {entry['load_average_at_start'][0]:<5}  "
            f"{entry['summary']}  [{entry['target']}]"
        )
    for name in failed:
        print(f"{name:<{width}}  FAILED: see bench/results/{name}.log")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
