"""Anonymise verifications older than KYVS_RETENTION_DAYS.

Anonymise rather than delete: a row past its retention loses everything that points at a
person, the beneficiary link, the masked mobile, the client's IP address and any code
hash, but keeps the organisation, the actor, the channel, the purpose, the outcome and the
dates. The organisation's console history and usage counts, and the registry's audit of
who asked how often and why, stay true; what a person could be found by goes. A deleted
row would make last year's usage look like nothing happened.

Rows are done in batches, each in its own transaction, so a large backlog never holds a
long lock or a huge transaction; rows already anonymised are not touched again, so the
command can be stopped and run again at any time.
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from verification.models import Verification


class Command(BaseCommand):
    help = "Anonymise verifications older than KYVS_RETENTION_DAYS (default 180)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Retention in days (default: KYVS_RETENTION_DAYS).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows per transaction (default 1000)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be anonymised; change nothing.",
        )

    def handle(self, *args, days, batch_size, dry_run, **options):
        days = settings.KYVS_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        when = timezone.localtime(cutoff).strftime("%Y-%m-%d %H:%M %Z")

        if dry_run:
            count = Verification.objects.older_than(cutoff).still_personal().count()
            self.stdout.write(
                f"Would anonymise {count} verifications started before {when} "
                f"(older than {days} days); nothing changed."
            )
            return

        done = batches = 0
        while True:
            with transaction.atomic():
                pks = list(
                    Verification.objects.older_than(cutoff)
                    .still_personal()
                    .order_by("pk")
                    .values_list("pk", flat=True)[:batch_size]
                )
                if not pks:
                    break
                done += Verification.objects.filter(pk__in=pks).anonymise()
                batches += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Anonymised {done} verifications started before {when} "
                f"(older than {days} days) in {batches} batches."
            )
        )
