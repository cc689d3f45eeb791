"""Benchmark: how a crisis's cost grows with its phases (issue 14, item 3).

    .venv/bin/python bench/phase_scaling.py [--rounds 3]

Crises of 1, 10 and 100 phases, one at a time, through the REST API (POST, then GET .../wait/
until it ended) with `manage.py runworker` and the web server `manage.py up` runs, on a
Temporal dev server and a scratch database started here. The cost per phase at N phases is
the marginal one, (time(N) - time(1)) / (N - 1): the fixed cost of a crisis is left out, so a
per-phase cost that grows with the phase count (a quadratic history walk, a list rewritten per
phase) shows. Target: the cost per phase at 100 within 1.2x of that at 10.

The phase counts take turns, round by round, in the same processes, so a load that drifts
(this machine is shared) weighs on each alike. The marginal cost at 10 phases rests on two
short crises, so a few milliseconds of noise in either moves it by percent: the short crises
run more often (CRISES_PER_ROUND) than the long one, whose marginal cost is spread over 99
phases.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from common import load_average, prepared_env, record, scratch_database, temporal_dev_server
from crisis_e2e import django_path

PHASES = (1, 10, 100)
# Crises of each phase count per round: about a second of crises per count.
CRISES_PER_ROUND = {1: 8, 10: 4, 100: 1}


async def crisis_seconds(env: dict, tmp: Path, rounds: int) -> dict[int, float]:
    """Return the median seconds of a crisis, trigger to end, by phase count."""
    found: dict[int, list[float]] = {phases: [] for phases in PHASES}
    async with django_path(env, 1, PHASES[0], tmp, ids=[]) as (one, _):
        for phases in PHASES:
            await one(0, phases)  # warm-up
        number = 0
        for _ in range(rounds):
            for phases in PHASES:
                for _ in range(CRISES_PER_ROUND[phases]):
                    number += 1
                    started = time.perf_counter()
                    await one(number, phases)
                    found[phases].append(time.perf_counter() - started)
    return {phases: statistics.median(times) for phases, times in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="turns of every phase count")
    args = parser.parse_args()
    load = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="phase-bench-") as tmpdir,
        temporal_dev_server(Path(tmpdir)) as address,
        scratch_database("aura_bench_phases") as url,
    ):
        env = prepared_env(url, address)
        seconds = asyncio.run(crisis_seconds(env, Path(tmpdir), args.rounds))
    per_phase = {n: (seconds[n] - seconds[1]) / (n - 1) for n in PHASES[1:]}
    ratio = per_phase[100] / per_phase[10]
    record(
        "phase-count scaling",
        {
            "crisis_ms": {str(n): round(s * 1000) for n, s in seconds.items()},
            "marginal_ms_per_phase": {str(n): round(c * 1000, 1) for n, c in per_phase.items()},
            "ratio_100_vs_10": round(ratio, 2),
        },
        "marginal cost per phase at 100 phases <= 1.2x that at 10",
        ratio <= 1.2,
        load,
        f"{per_phase[10] * 1000:.0f} ms/phase at 10, {per_phase[100] * 1000:.0f} at 100: "
        f"{ratio:.2f}x",
    )
    print(f"phase-count scaling, one crisis at a time (load average at start {load})")
    for n, s in seconds.items():
        extra = f", {per_phase[n] * 1000:.1f} ms per added phase" if n in per_phase else ""
        print(f"  {n:>3} phases: {s * 1000:7.0f} ms per crisis{extra}")
    print(f"  ratio per phase 100 / 10: {ratio:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
