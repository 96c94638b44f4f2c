from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from providers.models import Organisation


class Command(BaseCommand):
    help = (
        "Replace the origins (https://host[:port]) whose pages may frame the organisation's "
        "embeddable KYVS page, as its admin can at /console/embed/."
    )

    def add_arguments(self, parser):
        parser.add_argument("organisation", help="the organisation's name, exactly")
        parser.add_argument(
            "origins", nargs="+", metavar="ORIGIN", help="e.g. https://booking.example.com"
        )

    def handle(self, *args, **options):
        try:
            organisation = Organisation.objects.get(name=options["organisation"])
        except Organisation.DoesNotExist:
            raise CommandError(f"No organisation is named {options['organisation']!r}.") from None
        try:
            origins = organisation.set_embed_origins(options["origins"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{organisation.name} may now embed KYVS from: {', '.join(origins)}")
