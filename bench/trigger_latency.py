"""Benchmark: the cost of starting a crisis (issue 14, item 2) and long-polls (item 8).

    .venv/bin/python bench/trigger_latency.py [--per-client 10] [--waits 100]

No worker polls the crisis queue, so nothing competes with the starts: what is measured is the
start alone. For 1, 20 and 50 concurrent clients, alternately: REST POST /api/v1/crises/ (the
web server `manage.py up` runs, PostgreSQL record, outbox, start) against the raw temporalio
`start_workflow` of the same workflow and input; latency p50/p95/p99 and triggers/s.
Then the long-polls: p95 of an unrelated GET (a crisis's detail) with no wait open, then with
`--waits` GET .../wait/ open at once on crises that never end (no worker).
Temporal dev server started here (the banner goes to a log file), scratch database dropped.
"""

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from common import (
    ROOT,
    load_average,
    percentile,
    prepared_env,
    record,
    scratch_database,
    temporal_dev_server,
)
from crisis_e2e import free_port, missions
from temporalio.client import Client

from aura_site import devstack
from crises.inputs import CrisisRequest, MissionPhase
from crises.workflows import CrisisResponseWorkflow

CLIENTS = (1, 20, 50)


async def timed_clients(clients: int, total: int, one) -> tuple[float, list[float]]:
    """Run `total` calls of `one()` on `clients` concurrent loops; return (per s, latencies)."""
    remaining = iter(range(total))
    latencies: list[float] = []

    async def loop() -> None:
        for _ in remaining:
            started = time.perf_counter()
            await one()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return total / (time.perf_counter() - started), latencies


def summary(rate: float, latencies: list[float]) -> dict:
    return {
        "per_s": round(rate, 1),
        **{f"p{q}_ms": round(percentile(latencies, q) * 1000, 1) for q in (50, 95, 99)},
    }


async def measure(address: str, http_port: int, token: str, args) -> tuple[dict, dict]:
    client = await Client.connect(address)
    body = {"target": "target-alpha", "missions": missions("target-alpha", 4)}
    request = CrisisRequest(
        target_member="target-alpha",
        missions=[MissionPhase(**m) for m in body["missions"]],
        crisis_id="",
    )
    queue = f"bench-raw-{uuid.uuid4()}"
    created: list[str] = []
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{http_port}/api/v1/",
        headers={"Authorization": f"Token {token}"},
        timeout=120,
        # Idle connections go before the server closes them (gunicorn's `keepalive`, 2 s): a
        # POST sent on one it is closing fails with ReadError, and the raw phases leave them
        # idle for seconds.
        limits=httpx.Limits(max_connections=200, keepalive_expiry=1),
    ) as http:

        async def raw() -> None:
            crisis_id = f"crisis-raw-{uuid.uuid4().hex[:12]}"
            await client.start_workflow(
                CrisisResponseWorkflow.run,
                request,
                id=f"crisis-workflow-{crisis_id}",
                task_queue=queue,
            )

        async def rest() -> None:
            response = await http.post("crises/", json=body)
            assert response.status_code == 201, response.text
            created.append(response.json()["crisis_id"])

        await timed_clients(5, 20, raw)  # warm-up: connections, caches
        await timed_clients(5, 20, rest)
        triggers = {}
        for clients in CLIENTS:
            total = max(100, clients * args.per_client)
            raw_rate, raw_lat = await timed_clients(clients, total, raw)
            rest_rate, rest_lat = await timed_clients(clients, total, rest)
            triggers[clients] = {
                "raw": summary(raw_rate, raw_lat),
                "rest": summary(rest_rate, rest_lat),
            }

        detail = f"crises/{created[0]}/"

        async def get_detail() -> None:
            response = await http.get(detail)
            assert response.status_code == 200, response.text

        _, idle = await timed_clients(1, 200, get_detail)
        waits = [
            asyncio.create_task(http.get(f"crises/{crisis_id}/wait/?timeout=30"))
            for crisis_id in created[1 : args.waits + 1]
        ]
        await asyncio.sleep(2)  # every wait reached the server and is parked
        _, busy = await timed_clients(1, 200, get_detail)
        still_open = sum(not task.done() for task in waits)
        answers = await asyncio.gather(*waits)
        assert all(answer.status_code == 202 for answer in answers), {
            answer.status_code for answer in answers
        }
    long_polls = {
        "open_waits": len(waits),
        "still_open_after_measuring": still_open,
        "no_waits": {f"p{q}_ms": round(percentile(idle, q) * 1000, 1) for q in (50, 95)},
        "with_waits": {f"p{q}_ms": round(percentile(busy, q) * 1000, 1) for q in (50, 95)},
    }
    return triggers, long_polls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-client", type=int, default=10, help="triggers per client")
    parser.add_argument("--waits", type=int, default=100)
    args = parser.parse_args()
    load = load_average()
    with (
        tempfile.TemporaryDirectory(prefix="trigger-bench-") as tmpdir,
        temporal_dev_server(Path(tmpdir)) as address,
        scratch_database("aura_bench_trigger") as url,
    ):
        # A crisis queue no worker polls: the start cost alone.
        env = prepared_env(url, address)
        http_port = free_port()
        with open(Path(tmpdir) / "web.log", "wb") as web_log:
            web = subprocess.Popen(
                devstack.web_server_command(host="127.0.0.1", port=http_port, workers=2),
                cwd=ROOT,
                env=env,
                stdout=web_log,
                stderr=subprocess.STDOUT,
            )
        try:
            assert devstack.wait_for_port(http_port, 30), "the web server did not start"
            triggers, long_polls = asyncio.run(
                measure(address, http_port, env["BENCH_TOKEN"], args)
            )
        except BaseException:
            # The web server's own account of a failed request, before its log is deleted.
            print((Path(tmpdir) / "web.log").read_text()[-6000:], file=sys.stderr)
            raise
        finally:
            devstack.stop_process(web, 10)

    worst = max(t["rest"]["p95_ms"] / t["raw"]["p95_ms"] for t in triggers.values())
    record(
        "trigger latency (worker idle)",
        {str(clients): figures for clients, figures in triggers.items()},
        "REST p95 <= 2x raw start_workflow p95 at 1, 20 and 50 clients",
        worst <= 2,
        load,
        "REST/raw p95 at 1/20/50 clients: "
        + " / ".join(
            f"{t['rest']['p95_ms'] / t['raw']['p95_ms']:.1f}x" for t in triggers.values()
        ),
    )
    slowdown = long_polls["with_waits"]["p95_ms"] / long_polls["no_waits"]["p95_ms"]
    record(
        "long-polls: unrelated GET with open waits",
        long_polls,
        "p95 of an unrelated GET with 100 open waits (no target set: compared with none open)",
        None,
        load,
        f"GET p95 {long_polls['no_waits']['p95_ms']} ms idle, "
        f"{long_polls['with_waits']['p95_ms']} ms with {long_polls['open_waits']} waits open",
    )
    print(f"trigger latency, no worker polling (load average at start {load})")
    print("  clients  path   triggers/s   p50 ms   p95 ms   p99 ms   REST/raw p95")
    for clients, figures in triggers.items():
        for path in ("raw", "rest"):
            f = figures[path]
            ratio = f["p95_ms"] / figures["raw"]["p95_ms"]
            print(
                f"  {clients:>7}  {path:<5} {f['per_s']:>11} {f['p50_ms']:>8} {f['p95_ms']:>8} "
                f"{f['p99_ms']:>8}   {ratio:.2f}x" + ("  (target <= 2x)" if path == "rest" else "")
            )
    print(
        f"long-polls: GET detail p95 {long_polls['no_waits']['p95_ms']} ms with no wait open, "
        f"{long_polls['with_waits']['p95_ms']} ms with {long_polls['open_waits']} open "
        f"({slowdown:.2f}x; {long_polls['still_open_after_measuring']} still open at the end)"
    )


if __name__ == "__main__":
    sys.exit(main())
