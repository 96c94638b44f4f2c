from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from providers.models import Membership, Organisation, Purpose, Scope


def _choices(value: str, allowed: set[str], what: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise CommandError(
            f"Unknown {what}: {', '.join(unknown)}. Choose from: {', '.join(sorted(allowed))}."
        )
    return items


class Command(BaseCommand):
    help = "Create an approved organisation with one operator, for scripts and trying the portal."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", required=True, choices=Organisation.Kind.values)
        parser.add_argument(
            "--scopes", default="status", help="comma-separated, e.g. status,vaccinations"
        )
        parser.add_argument(
            "--purposes", required=True, help="comma-separated, e.g. travel,service"
        )
        parser.add_argument("--operator", required=True, help="username of the operator")
        parser.add_argument("--password", required=True)
        parser.add_argument("--daily-quota", type=int, default=1000)

    def handle(self, *args, **options):
        scopes = _choices(options["scopes"], set(Scope.values), "scope")
        purposes = _choices(options["purposes"], set(Purpose.values), "purpose")
        if not purposes:
            raise CommandError("Give at least one purpose.")
        User = get_user_model()
        if Organisation.objects.filter(name=options["name"]).exists():
            raise CommandError(f"An organisation named {options['name']!r} already exists.")
        if User.objects.filter(username=options["operator"]).exists():
            raise CommandError(f"A user named {options['operator']!r} already exists.")
        with transaction.atomic():
            organisation = Organisation.objects.create(
                name=options["name"],
                kind=options["kind"],
                state=Organisation.State.APPROVED,
                scopes=Scope.only_beyond_status(scopes),
                purposes=purposes,
                daily_quota=options["daily_quota"],
            )
            user = User.objects.create_user(options["operator"], password=options["password"])
            Membership.objects.create(
                user=user, organisation=organisation, role=Membership.Role.OPERATOR
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organisation.name} (approved) with operator {user.username}."
            )
        )
