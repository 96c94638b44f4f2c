from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from verification import importer


class Command(BaseCommand):
    help = (
        "Load beneficiaries and doses from a registry CSV (one row per dose). Every row is "
        "checked first; one bad row and nothing is imported. Importing again updates."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", type=Path, help="CSV with the header " + ",".join(importer.HEADER)
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            summary = importer.import_csv(path)
        except importer.ImportRejected as rejected:
            raise CommandError(str(rejected)) from rejected
        self.stdout.write(self.style.SUCCESS(str(summary)))
