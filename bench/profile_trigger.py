"""Web-side CPU of a crisis trigger, in-process: POST /api/v1/crises/ through the ASGI app.

    .venv/bin/python bench/profile_trigger.py [--n 300] [--rounds 2] [--wait]
                                              [--profile FILE]

The real stack but HTTP: `aura_site.asgi.application` called as an ASGI server calls it, a
scratch database, a Temporal dev server started here, no worker (the start alone). Prints the
process's CPU per trigger (every thread: the event loop, the request threads, the Temporal
client's) and the part spent in the sync middleware chain and view. `--wait` adds a
`GET .../wait/?timeout=0` per trigger, as bench/crisis_e2e.py's clients long-poll; `--profile`
writes a cProfile of the sync chain (thread CPU). For the whole process, run it under a
sampling profiler (`py-spy record --gil -- .venv/bin/python bench/profile_trigger.py`).
The machine is shared: compare versions alternately, in the same window.
"""

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import tempfile
import time
from pathlib import Path

from common import load_average, prepared_env, scratch_database, temporal_dev_server
from crisis_e2e import missions


async def call(app, method: str, path: str, token: str, body: bytes = b"") -> tuple[int, bytes]:
    """Call the ASGI app as a server would; return the status and the body."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"localhost"),
            (b"authorization", f"Token {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)

    status, chunks = 0, []

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def run(app, token: str, n: int, concurrency: int, wait: bool) -> None:
    """Run `n` triggers (and waits) on `concurrency` client loops."""
    body = json.dumps({"target": "target-alpha", "missions": missions("target-alpha", 4)}).encode()
    remaining = iter(range(n))

    async def loop():
        for _ in remaining:
            status, content = await call(app, "POST", "/api/v1/crises/", token, body)
            assert status == 201, content
            if wait:
                crisis_id = json.loads(content)["crisis_id"]
                status, content = await call(
                    app, "GET", f"/api/v1/crises/{crisis_id}/wait/?timeout=0", token
                )
                assert status in (200, 202), content

    await asyncio.gather(*(loop() for _ in range(concurrency)))


class SyncChainMeter:
    """Time (thread CPU) and optionally cProfile each request's pass through the sync chain."""

    def __init__(self, handler, profile: bool) -> None:
        self.handler, self.profile = handler, profile
        self.seconds: list[float] = []
        self.profiles: list[cProfile.Profile] = []

    def __enter__(self) -> "SyncChainMeter":
        inner = type(self.handler._sync).get_response

        def metered(chain, request):
            profiler = cProfile.Profile(time.thread_time) if self.profile else None
            started = time.thread_time()
            if profiler is not None:
                profiler.enable()
            try:
                return inner(chain, request)
            finally:
                if profiler is not None:
                    profiler.disable()
                    self.profiles.append(profiler)
                self.seconds.append(time.thread_time() - started)

        self.handler._sync.get_response = metered.__get__(self.handler._sync)
        return self

    def __exit__(self, *exc_info) -> None:
        del self.handler._sync.get_response

    def dump(self, path: str) -> None:
        stats = pstats.Stats(self.profiles[0])
        for profiler in self.profiles[1:]:
            stats.add(profiler)
        stats.dump_stats(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="triggers per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--wait", action="store_true", help="each trigger then a wait/ call")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the sync chain into FILE")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="trigger-prof-") as tmpdir,
        temporal_dev_server(Path(tmpdir)) as address,
        scratch_database(f"aura_prof_trigger_{os.getpid()}") as url,
    ):
        os.environ.update(prepared_env(url, address), DJANGO_SETTINGS_MODULE="aura_site.settings")
        token = os.environ["BENCH_TOKEN"]
        # The ASGI module first: it turns the connection pool on before the settings load.
        from aura_site.asgi import application  # noqa: I001
        from django.db import connections

        async def rounds() -> None:
            await run(application, token, 30, args.concurrency, args.wait)  # warm-up
            for round_ in range(args.rounds):
                with SyncChainMeter(application, bool(args.profile)) as meter:
                    cpu, wall = time.process_time(), time.perf_counter()
                    await run(application, token, args.n, args.concurrency, args.wait)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                if args.profile:
                    meter.dump(args.profile)
                chain = sum(meter.seconds) / len(meter.seconds) * 1000
                print(
                    f"round {round_}: {cpu / args.n * 1000:.2f} ms CPU per trigger"
                    f"{' and wait' if args.wait else ''} ({chain:.2f} ms in the sync chain), "
                    f"{args.n / wall:.1f}/s, load average {load_average()}",
                    flush=True,
                )

        asyncio.run(rounds())
        connections.close_all()
    os._exit(0)  # skip teardown of Temporal's runtime threads (sdk-python#300)


if __name__ == "__main__":
    main()
