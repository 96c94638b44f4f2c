import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from verification import importer

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed} elapsed, {remaining} left]"
BAR_FORMAT_WITHOUT_TOTAL = "{desc}: {postfix} [{elapsed} elapsed]"
STAGES = {
    "importing": "Checking and writing",
    "confirming": "Confirming the file is unchanged",
}


class TerminalProgress:
    """An importer.Progress drawn with tqdm: one bar per stage, by the file's bytes, with the
    rows read, rows per second and the time left. Nothing is drawn when `stream` is not a
    terminal (tqdm's disable=None), so logs and pipes get only the summary."""

    def __init__(self, stream):
        self.stream = stream
        self.stage: str | None = None
        self.bar: tqdm | None = None
        self.started = 0.0

    def __call__(self, stage: str, rows: int, position: int, total: int | None) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.started = time.monotonic()
            self.bar = tqdm(
                total=total,
                desc=STAGES.get(stage, stage),
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=self.stream,
                disable=None,
                bar_format=BAR_FORMAT if total else BAR_FORMAT_WITHOUT_TOTAL,
            )
        elapsed = max(time.monotonic() - self.started, 1e-6)
        self.bar.set_postfix_str(f"{rows:,} rows, {rows / elapsed:,.0f} rows/s", refresh=False)
        self.bar.update(position - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "Load beneficiaries and doses from a registry CSV (one row per dose). Every row is "
        "checked; one bad row and nothing is imported. Importing again updates. Shows a "
        "progress bar when the output is a terminal."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", type=Path, help="CSV with the header " + ",".join(importer.HEADER)
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        progress = TerminalProgress(options.get("stdout") or sys.stdout)
        try:
            summary = importer.import_csv(path, progress)
        except importer.ImportRejected as rejected:
            raise CommandError(str(rejected)) from rejected
        finally:
            progress.close()
        self.stdout.write(self.style.SUCCESS(str(summary)))
