"""Benchmark: the worker's memory, idle and with open epochs (issue 14, item 7).

    .venv/bin/python bench/worker_footprint.py [--epochs 1000]

`manage.py runworker` (every registered queue, as deployed) on a Temporal dev server and a
scratch database started here: its RSS once polling, then with `--epochs` EpochWorkflows
started and waiting for their next signal or update, once the worker has gone quiet. The
difference divided by the epochs is the memory an open epoch costs while it stays in the
worker's sticky cache. runworker sets no cache size, so temporalio's default applies:
max_cached_workflows=1000 workflows per worker; past that, the least recently used is evicted
(and replayed from its history when its next message comes), which bounds the memory.
"""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import (
    ROOT,
    load_average,
    prepared_env,
    record,
    rss_mib,
    scratch_database,
    temporal_dev_server,
)
from crisis_e2e import tree_cpu, wait_for_pollers
from temporalio.client import Client

from epochs.inputs import EpochInput
from epochs.workflows import EpochWorkflow


def wait_until_quiet(pid: int, timeout: float = 300) -> None:
    """Wait until the process used under 2% of a core over 3 s (its backlog is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = tree_cpu(pid)
        time.sleep(3)
        if tree_cpu(pid) - before < 0.06:
            return
    raise TimeoutError("the worker did not go quiet")


async def start_epochs(address: str, queue: str, count: int) -> None:
    client = await Client.connect(address)
    pending = iter(range(count))

    async def starter() -> None:
        for _ in pending:
            epoch_id = f"epoch-bench-{uuid.uuid4().hex[:12]}"
            await client.start_workflow(
                EpochWorkflow.run, EpochInput(epoch_id, "bench"), id=epoch_id, task_queue=queue
            )

    await asyncio.gather(*(starter() for _ in range(20)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    args = parser.parse_args()
    load = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="worker-bench-") as tmpdir,
        temporal_dev_server(Path(tmpdir)) as address,
        scratch_database("aura_bench_worker") as url,
    ):
        tmp = Path(tmpdir)
        env = prepared_env(url, address)
        queue = env["TEMPORAL_TASK_QUEUE"]
        with open(tmp / "worker.log", "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "runworker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            asyncio.run(wait_for_pollers(address, queue, tmp))
            wait_until_quiet(worker.pid)
            idle = rss_mib(worker.pid)
            started = time.perf_counter()
            asyncio.run(start_epochs(address, queue, args.epochs))
            wait_until_quiet(worker.pid)
            settle = time.perf_counter() - started
            loaded = rss_mib(worker.pid)
        finally:
            worker.terminate()
            worker.wait(30)

    per_epoch_kib = (loaded - idle) * 1024 / args.epochs
    record(
        "worker footprint",
        {
            "idle_rss_mib": round(idle),
            "open_epochs": args.epochs,
            "rss_with_open_epochs_mib": round(loaded),
            "kib_per_open_epoch": round(per_epoch_kib),
            "seconds_to_start_and_settle": round(settle),
            "max_cached_workflows": 1000,
        },
        "measured (no target): memory per open epoch, bounded by the sticky cache",
        None,
        load,
        f"idle {idle:.0f} MiB, {loaded:.0f} MiB with {args.epochs} open epochs "
        f"({per_epoch_kib:.0f} KiB each)",
    )
    print(f"worker footprint, runworker on every queue (load average at start {load})")
    print(f"  idle:                         {idle:6.0f} MiB RSS")
    print(
        f"  with {args.epochs} open epochs waiting: {loaded:6.0f} MiB RSS "
        f"({settle:.0f} s to settle)"
    )
    print(f"  per open epoch:               {per_epoch_kib:6.0f} KiB")
    print("  sticky cache: temporalio's default max_cached_workflows=1000 (runworker sets none)")


if __name__ == "__main__":
    main()
