#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import atexit
import logging
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
        code = 0
    except ImproperlyConfigured as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        code = 1
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
    exit_process(code)


def exit_process(code: int) -> None:
    """Exit with `code`, skipping interpreter teardown once a Temporal client was connected.

    The Temporal SDK's Rust threads can abort CPython's finalization with "PyGILState_Release:
    thread state must be current" (temporalio/sdk-python#300), turning a clean exit into
    SIGABRT. Exit handlers still run and output is flushed.
    """
    from aura_site import temporal

    if not temporal.runtime_started():
        sys.exit(code)
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
