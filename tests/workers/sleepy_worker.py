"""`manage.py runworker` in a real process, with the sleepy queue registered beside the app's.

Usage: python -m tests.workers.sleepy_worker [runworker options]; SLEEPY_QUEUE names the queue.
"""

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_site.settings")
    django.setup()
    import manage
    from tests.workers.sleepy import SleepyWorkflow, nap
    from workers import registry

    registry.register(
        "sleepy",
        name=lambda _task_queue: os.environ["SLEEPY_QUEUE"],
        workflows=[SleepyWorkflow],
        activities=[nap],
    )
    sys.argv = ["manage.py", "runworker", *sys.argv[1:]]
    manage.main()


if __name__ == "__main__":
    main()
