"""`manage.py run_worker`: a worker process of the task queue.

It runs django-tasks' database worker (`db_worker`: it takes jobs from the queue's table, one
at a time, and stops cleanly on SIGINT or SIGTERM after the job at hand) and, beside it, the
recovery of jobs whose worker died (verification.delivery.recover_lost_jobs), at start and
every half lease. Run as many as the SMS gateway's latency needs (README, "Deploying").
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from verification.delivery import start_recovering


class Command(BaseCommand):
    help = "Run a worker of the task queue (SMS and e-mail), with lost-job recovery."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="Seconds to wait before looking for a job again when there was none.",
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run the jobs that are ready, then stop."
        )

    def handle(self, *args, interval: float, batch: bool, **options):
        if not batch:
            start_recovering(settings.KYVS_SMS_DELIVERY_LEASE_SECONDS / 2)
        worker_args = ["--interval", str(interval), "--no-startup-delay"]
        if batch:
            worker_args.append("--batch")
        call_command("db_worker", *worker_args)
