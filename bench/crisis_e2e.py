"""Crisis throughput end to end: REST API + runworker vs the same workflow on raw temporalio,
and vs the replaced system's workflow shape.

Usage: .venv/bin/python bench/crisis_e2e.py [--crises 200] [--clients 20] [--phases 4]
                                            [--rounds 3]

Every path runs, in the same run and in alternating rounds, against one
`temporal server start-dev` this script starts with the Aura flags
(aura_site.devstack.temporal_dev_server_args). The Django path is gunicorn (REST: POST
/api/v1/crises/, then GET .../wait/) + `manage.py runworker`, writing records and audit events
to PostgreSQL (DATABASE_URL, else the embedded server; a scratch database is created and
dropped). Two baselines, no Django and no database, clients starting workflows directly and
awaiting their results:
1. raw temporalio: the very same `CrisisResponseWorkflow` (whatever it is now) with five
   activities that only log;
2. the replaced system: a frozen copy of the origin's workflow (bench/replaced_crisis.py: five
   regular activities with the origin's timeouts and retries) with no-op activities.
Prints crises/s for each, ours against each baseline, trigger latency p50/p95, Temporal history
events per crisis, and the CPU time each part spent per crisis (Linux /proc): with 2 cores
every path is CPU-bound, so a throughput ratio is about the inverse ratio of CPU per crisis.
Not part of the test suite.
"""

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from common import load_average, percentile, prepared_env, record, scratch_database
from replaced_crisis import ACTIVITIES as REPLACED_ACTIVITIES
from replaced_crisis import CrisisRequest as ReplacedRequest
from replaced_crisis import MissionPhase as ReplacedPhase
from replaced_crisis import ReplacedCrisisWorkflow
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aura_site import devstack  # noqa: E402  (Django-free)
from aura_site.devstack import web_server_command  # noqa: E402
from crises.inputs import (  # noqa: E402
    CrisisRequest,
    FinalizeCrisisInput,
    InitializeCrisisInput,
    LogMissionPhaseInput,
    MissionPhase,
    PerformAgentMissionInput,
)
from crises.workflows import CrisisResponseWorkflow  # noqa: E402
from workers.sandbox import compile_workflow_modules  # noqa: E402

log = logging.getLogger("bench")
OneCrisis = Callable[[int], Awaitable[float]]
# A way to run crises: the function running one, and the processes to meter.
CrisisPath = AbstractAsyncContextManager[tuple[OneCrisis, dict[str, int]]]
BENCH_DB = "aura_bench_crises"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> tuple[float, list[int]]:
    """Return a process's CPU seconds (user + system) and its children's pids."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return 0.0, []
    children = []
    for task in tasks:
        # A thread may end between the listing and this read (the web server's request
        # threads do all the time): skip it, not the whole process, whose CPU counts its
        # ended threads too.
        try:
            children += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return (int(fields[11]) + int(fields[12])) / TICKS, children


def tree_cpu(pid: int) -> float:
    """Return the CPU seconds a process and its living descendants have used."""
    total, pending = 0.0, [pid]
    while pending:
        seconds, children = _cpu(pending.pop())
        total += seconds
        pending += children
    return total


def backend_cpu(database: str) -> dict[int, float]:
    """Return the CPU seconds of each living PostgreSQL backend serving `database`, by pid.

    Only this benchmark's backends (their process title names the database): the server is
    shared with other sessions on this machine, whose backends are not ours to count.
    """
    found = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and _comm(proc) == "postgres":
            try:
                title = (proc / "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if f" {database} " in title:
                found[int(proc.name)] = _cpu(int(proc.name))[0]
    return found


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


class CpuMeter:
    """CPU seconds per part of a run: temporal server, this process, children, and the
    PostgreSQL backends of the benchmark's database (those alive when it ends)."""

    def __init__(self, temporal_pid: int, children: dict[str, int] | None = None) -> None:
        self.temporal_pid, self.children = temporal_pid, children or {}
        self.start = self.read()
        self.backends = backend_cpu(BENCH_DB)

    def read(self) -> dict[str, float]:
        return {
            "temporal": tree_cpu(self.temporal_pid),
            "bench process": time.process_time(),
            **{name: tree_cpu(pid) for name, pid in self.children.items()},
        }

    def used(self) -> dict[str, float]:
        used = {name: value - self.start.get(name, 0.0) for name, value in self.read().items()}
        used["postgres"] = sum(
            seconds - self.backends.get(pid, 0.0) for pid, seconds in backend_cpu(BENCH_DB).items()
        )
        return used


# --- raw temporalio baseline: same workflow, activities that only log ---------------------


@activity.defn(name="validate_crisis_request")
async def raw_validate(request: CrisisRequest) -> bool:
    return len(request.target_member) >= 3 and bool(request.missions)


@activity.defn(name="initialize_crisis_response")
async def raw_initialize(data: InitializeCrisisInput) -> bool:
    log.debug("Initializing crisis response: %s", data.crisis_id)
    return True


@activity.defn(name="perform_agent_mission")
async def raw_perform(data: PerformAgentMissionInput) -> bool:
    m = data.mission
    log.debug("AGENT DEPLOYMENT - Phase: %s | Agent: %s", m.phase_id, m.agent_id)
    return True


@activity.defn(name="log_mission_phase")
async def raw_log(data: LogMissionPhaseInput) -> bool:
    return True


@activity.defn(name="finalize_crisis_response")
async def raw_finalize(data: FinalizeCrisisInput) -> bool:
    return True


def missions(target: str, phases: int) -> list[dict]:
    actions = ["recon", "secure", "extract", "cleanup"]
    return [
        {
            "phase_id": f"phase-{i}",
            "agent_id": f"agent-{actions[(i - 1) % 4]}-{i:03d}",
            "action": actions[(i - 1) % 4],
            "target": target,
            "priority": i,
        }
        for i in range(1, phases + 1)
    ]


async def run_clients(total: int, clients: int, one: OneCrisis) -> tuple[float, list[float]]:
    """Run `one(i)` for i in range(total) on `clients` concurrent loops; return elapsed, lats."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    latencies: list[float] = []

    async def client_loop() -> None:
        while not queue.empty():
            latencies.append(await one(queue.get_nowait()))

    start = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return time.perf_counter() - start, latencies


async def history_events(client: Client, workflow_id: str) -> int:
    """Return how many events the history of `workflow_id` holds."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events)


@asynccontextmanager
async def direct_path(
    client: Client,
    phases: int,
    ids: list[str],
    *,
    name: str,
    workflow: type,
    activities: list,
    request_type: type,
    phase_type: type,
) -> AsyncIterator[tuple[OneCrisis, dict[str, int]]]:
    """Yield a function that runs one crisis of `workflow` as a temporalio client does (start
    it, await its result; appending its workflow id to `ids`), and the processes to meter."""
    queue = f"bench-{name}-{uuid.uuid4()}"
    # The SDK's default runner, the sandbox, re-imports the module per run: its bytecode once.
    compile_workflow_modules([workflow])
    async with Worker(
        client,
        task_queue=queue,
        workflows=[workflow],
        activities=activities,
        max_concurrent_activities=50,
    ):

        async def one(i: int) -> float:
            crisis_id = f"crisis-{name}-{uuid.uuid4().hex[:12]}"
            request = request_type(
                target_member="target-alpha",
                missions=[phase_type(**m) for m in missions("target-alpha", phases)],
                crisis_id=crisis_id,
            )
            t0 = time.perf_counter()
            handle = await client.start_workflow(
                workflow.run,
                request,
                id=f"crisis-workflow-{crisis_id}",
                task_queue=queue,
            )
            latency = time.perf_counter() - t0
            result = await handle.result()
            assert result.success, result
            ids.append(handle.id)
            return latency

        yield one, {}


def raw_path(client: Client, phases: int, ids: list[str]) -> CrisisPath:
    """The same `CrisisResponseWorkflow`, with activities that only log."""
    return direct_path(
        client,
        phases,
        ids,
        name="raw",
        workflow=CrisisResponseWorkflow,
        activities=[raw_validate, raw_initialize, raw_perform, raw_log, raw_finalize],
        request_type=CrisisRequest,
        phase_type=MissionPhase,
    )


def replaced_path(client: Client, phases: int, ids: list[str]) -> CrisisPath:
    """The replaced system's shape, run as its clients did (`LiaraTemporalAgency`)."""
    return direct_path(
        client,
        phases,
        ids,
        name="replaced",
        workflow=ReplacedCrisisWorkflow,
        activities=REPLACED_ACTIVITIES,
        request_type=ReplacedRequest,
        phase_type=ReplacedPhase,
    )


# The SDK's default workflow task timeout and sticky-queue schedule-to-start timeout are 10 s.
TIMERS_DRAIN_SECONDS = 11


@dataclass
class Results:
    """One path's measured rounds."""

    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    async def measure(
        self, one: OneCrisis, total: int, clients: int, temporal_pid: int, children: dict
    ) -> None:
        meter = CpuMeter(temporal_pid, children)
        elapsed, latencies = await run_clients(total, clients, one)
        self.rates.append(total / elapsed)
        self.latencies += latencies
        # The Temporal server works on a path's workflows after they close: the timeout timers
        # of their workflow tasks fire up to 10 s later. Metered until they have, each path
        # pays for its own, not for the path before it.
        await asyncio.sleep(TIMERS_DRAIN_SECONDS)
        for part, seconds in meter.used().items():
            self.cpu[part] = self.cpu.get(part, 0.0) + seconds


# --- Django path: gunicorn + runworker + PostgreSQL ------------------------------------------


async def wait_for_pollers(address: str, queue: str, tmp: Path, timeout: float = 30) -> None:
    """Wait until a worker polls `queue` (the worker logs at WARNING: no startup line)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    client = await Client.connect(address)
    deadline = time.monotonic() + timeout
    while True:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name=queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        if described.pollers:
            return
        assert time.monotonic() < deadline, (tmp / "worker.log").read_text()
        await asyncio.sleep(0.2)


@asynccontextmanager
async def django_path(
    env: dict, clients: int, phases: int, tmp: Path, ids: list[str]
) -> AsyncIterator[tuple[OneCrisis, dict[str, int]]]:
    """Yield a function that runs one crisis through the web server (as `manage.py up` runs
    it) + runworker (appending its workflow id to `ids`), and their pids. The function takes
    the crisis's number and, optionally, another phase count than `phases`."""
    http_port = free_port()
    procs = []
    with open(tmp / "gunicorn.log", "wb") as glog, open(tmp / "worker.log", "wb") as wlog:
        procs.append(
            subprocess.Popen(
                web_server_command(host="127.0.0.1", port=http_port, workers=2),
                cwd=ROOT,
                env=env,
                stdout=glog,
                stderr=subprocess.STDOUT,
            )
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "runworker", "--only", env["CRISIS_TASK_QUEUE"]]
                + ["--audit-trail", "memory"],
                cwd=ROOT,
                env=env,
                stdout=wlog,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        assert devstack.wait_for_port(http_port, 30), "gunicorn did not start"
        await wait_for_pollers(env["TEMPORAL_ADDRESS"], env["CRISIS_TASK_QUEUE"], tmp)
        token = env["BENCH_TOKEN"]
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}/api/v1/",
            headers={"Authorization": f"Token {token}"},
            timeout=120,
            limits=httpx.Limits(max_connections=clients * 2),
        ) as http:

            async def one(i: int, phases: int = phases) -> float:
                body = {"target": "target-alpha", "missions": missions("target-alpha", phases)}
                t0 = time.perf_counter()
                created = await http.post("crises/", json=body)
                latency = time.perf_counter() - t0
                if created.status_code != 201:
                    log = (tmp / "gunicorn.log").read_text()[-4000:]
                    raise AssertionError(f"{created.status_code} {created.text}\n{log}")
                url = f"crises/{created.json()['crisis_id']}/wait/?timeout=60"
                while (done := await http.get(url)).status_code == 202:
                    pass
                assert done.json()["status"] == "completed", done.text
                ids.append(f"crisis-workflow-{created.json()['crisis_id']}")
                return latency

            yield one, {"gunicorn": procs[0].pid, "runworker": procs[1].pid}
    finally:
        for proc in procs:
            devstack.stop_process(proc, 10)


def rounded(values: list[float]) -> list[float]:
    return [round(value, 2) for value in values]


PATHS = (
    ("raw", "raw temporalio, same workflow (no Django, no DB)"),
    ("replaced", "replaced system's shape (records nowhere)"),
    ("ours", "REST API + runworker + PostgreSQL"),
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crises", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--phases", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    load = load_average()

    with tempfile.TemporaryDirectory(prefix="crisis-bench-") as tmpdir:
        tmp = Path(tmpdir)
        port = free_port()
        server = subprocess.Popen(
            [
                devstack.venv_binary("temporal"),
                *devstack.temporal_dev_server_args(port=port, ui_port=None, db_filename=None),
            ],
            stdout=open(tmp / "temporal.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        try:
            assert devstack.wait_for_port(port, 30), "temporal dev server did not start"
            address = f"127.0.0.1:{port}"
            with scratch_database(BENCH_DB) as bench_url:
                env = prepared_env(bench_url, address)
                client = await Client.connect(address)
                results = {name: Results() for name, _ in PATHS}
                ids: dict[str, list[str]] = {name: [] for name, _ in PATHS}
                async with (
                    raw_path(client, args.phases, ids["raw"]) as raw,
                    replaced_path(client, args.phases, ids["replaced"]) as replaced,
                    django_path(env, args.clients, args.phases, tmp, ids["ours"]) as ours,
                ):
                    paths = {"raw": raw, "replaced": replaced, "ours": ours}
                    for one, _ in paths.values():  # warm-up
                        await run_clients(args.clients, args.clients, one)
                    order = list(paths.items())
                    for round_number in range(args.rounds):
                        # Alternated, each round starting one path later: neither the
                        # machine's drift nor going first or last favours a path.
                        shift = round_number % len(order)
                        for name, (one, children) in order[shift:] + order[:shift]:
                            await results[name].measure(
                                one, args.crises, args.clients, server.pid, children
                            )
                events = {name: await history_events(client, ids[name][-1]) for name in ids}
        finally:
            devstack.stop_process(server, 10)

    rate = {name: statistics.median(r.rates) for name, r in results.items()}
    ratios = {
        base: [o / b for o, b in zip(results["ours"].rates, results[base].rates, strict=True)]
        for base in ("raw", "replaced")
    }
    ratio = {base: statistics.median(values) for base, values in ratios.items()}
    crises = args.crises * args.rounds
    print(
        f"crises: {args.rounds} rounds of {args.crises} x {args.phases} phases, "
        f"{args.clients} concurrent clients (medians of the rounds); load average {load}"
    )
    for name, label in PATHS:
        print(f"{label:<52} {rate[name]:7.2f} crises/s   {events[name]:3d} history events")
    for base, target in (("raw", 0.9), ("replaced", 1.0)):
        print(
            f"ratio ours / {base:<38} {ratio[base]:7.2f}  (target >= {target};"
            f" rounds: {', '.join(f'{r:.2f}' for r in ratios[base])})"
        )
    for name, _ in PATHS:
        lat = results[name].latencies
        print(
            f"trigger latency, {name:<9} p50 {percentile(lat, 50) * 1000:6.1f} ms   "
            f"p95 {percentile(lat, 95) * 1000:6.1f} ms"
        )
    print("CPU per crisis, ms (all processes on this machine, 2 cores: every path is CPU-bound)")
    cpu = {name: sum(r.cpu.values()) / crises * 1000 for name, r in results.items()}
    for name, r in results.items():
        parts = "  ".join(
            f"{part} {seconds / crises * 1000:5.1f}" for part, seconds in r.cpu.items()
        )
        print(f"  {name:<9} total {cpu[name]:6.1f}   {parts}")
    figures = {
        "crises": crises,
        "clients": args.clients,
        "phases": args.phases,
        "crises_per_s": {name: round(value, 2) for name, value in rate.items()},
        "history_events_per_crisis": events,
        "cpu_ms_per_crisis": {name: round(value, 1) for name, value in cpu.items()},
    }
    record(
        "crisis throughput",
        {**figures, "ratio": round(ratio["raw"], 2), "round_ratios": rounded(ratios["raw"])},
        "ours / raw temporalio (same workflow, activities that only log) >= 0.9",
        ratio["raw"] >= 0.9,
        load,
        f"raw {rate['raw']:.1f}/s, ours {rate['ours']:.1f}/s: {ratio['raw']:.2f}x",
    )
    record(
        "crisis throughput vs the replaced system",
        {
            **figures,
            "ratio": round(ratio["replaced"], 2),
            "round_ratios": rounded(ratios["replaced"]),
        },
        "ours / the replaced system's shape (five regular no-op activities) >= 1.0",
        ratio["replaced"] >= 1.0,
        load,
        f"replaced {rate['replaced']:.1f}/s, ours {rate['ours']:.1f}/s: {ratio['replaced']:.2f}x",
    )


if __name__ == "__main__":
    asyncio.run(main())
