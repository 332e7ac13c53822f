"""manage.py run_maintenance: run the scheduled jobs (chatproject.maintenance) every --interval seconds."""

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from chatproject.maintenance import JOBS, run_job


class Command(BaseCommand):
    """The maintenance loop: every job once per round; SIGTERM/SIGINT end it between rounds."""

    help = "Run the periodic maintenance jobs the apps register, in a loop, or once with --once."

    def add_arguments(self, parser: CommandParser) -> None:
        """--once, --interval SECONDS (default 3600), --job NAME (repeatable)."""
        parser.add_argument(
            "--once", action="store_true", help="Run one round and exit (status 1 if a job failed)."
        )
        parser.add_argument(
            "--interval", type=float, default=3600.0, help="Seconds between rounds (default 3600)."
        )
        parser.add_argument(
            "--job",
            action="append",
            choices=[job.name for job in JOBS],
            help="Run only this job (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run rounds until told to stop; with --once, one round."""
        if options["interval"] <= 0:
            raise CommandError("--interval must be above 0")
        jobs = [job for job in JOBS if not options["job"] or job.name in options["job"]]
        stop = threading.Event()
        if not options["once"]:

            def request_stop(signum: int, _frame: FrameType | None) -> None:
                stop.set()

            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
        while True:
            failed = False
            for job in jobs:
                outcome, job_failed = run_job(job)
                failed |= job_failed
                self.stdout.write(f"{job.name}: {outcome}")
            if options["once"]:
                if failed:
                    raise CommandError("a maintenance job failed")
                return
            # Hand the connection back between rounds: a restarted database is met afresh next round.
            connections.close_all()
            if stop.wait(options["interval"]):
                return
