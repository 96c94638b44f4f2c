from django.core.management.base import BaseCommand, CommandError

from providers.models import ApiKey, Organisation, Scope


class Command(BaseCommand):
    help = (
        "Create an API key for an organisation and print it once. Only its prefix and a keyed "
        "digest are stored: a lost key cannot be shown again, only revoked and replaced."
    )

    def add_arguments(self, parser):
        parser.add_argument("organisation", help="the organisation's name, exactly")
        parser.add_argument("--name", required=True, help="what the key is for, e.g. 'Booking'")
        parser.add_argument(
            "--scopes",
            default=None,
            help="comma-separated scopes beyond status, e.g. vaccinations,demographics; "
            "each must be one the organisation holds (default: all it holds)",
        )

    def handle(self, *args, **options):
        try:
            organisation = Organisation.objects.get(name=options["organisation"])
        except Organisation.DoesNotExist:
            raise CommandError(f"No organisation is named {options['organisation']!r}.") from None
        name = options["name"].strip()
        if not name:
            raise CommandError("Give the key a name.")
        scopes = None
        if options["scopes"] is not None:
            scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
            scopes = Scope.only_beyond_status(scopes)
            unknown = [s for s in scopes if s not in organisation.scopes]
            if unknown:
                held = ", ".join(organisation.scopes) or "none beyond status"
                raise CommandError(
                    f"{organisation.name} does not hold the scope(s) {', '.join(unknown)} "
                    f"(it holds: {held})."
                )
        api_key, raw_key = ApiKey.issue(organisation, name, scopes=scopes)
        if not organisation.is_approved:
            self.stderr.write(
                f"Note: {organisation.name} is {organisation.get_state_display().lower()}; "
                "the key will be refused until it is approved."
            )
        self.stdout.write(
            f"Created API key {api_key.name!r} for {organisation.name} "
            f"(scopes: {', '.join(api_key.granted_scopes())}). It is shown only this once:"
        )
        self.stdout.write(raw_key)
