import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kyvs.fields import ChoiceListField


class Scope(models.TextChoices):
    """What an organisation may learn about a customer. `status` is always granted."""

    STATUS = "status", _("Vaccination status")
    VACCINATIONS = "vaccinations", _("Vaccination events (vaccine, dose, date, centre)")
    DEMOGRAPHICS = "demographics", _("Demographics (name as registered, birth year, gender)")


class Purpose(models.TextChoices):
    TRAVEL = "travel", _("Travel")
    EMPLOYMENT = "employment", _("Employment")
    VENUE_ENTRY = "venue_entry", _("Venue entry")
    SERVICE = "service", _("Service")


class OrganisationQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(state=Organisation.State.APPROVED)


class Organisation(models.Model):
    class Kind(models.TextChoices):
        TRAVEL_AGENCY = "travel_agency", _("Travel agency")
        EMPLOYER = "employer", _("Employer")
        HOSPITALITY = "hospitality", _("Hospitality")
        ENTERTAINMENT = "entertainment", _("Entertainment")
        RAILWAY = "railway", _("Railway")
        GOVERNMENT_OFFICE = "government_office", _("Government office")
        OTHER = "other", _("Other")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    scopes = ChoiceListField(
        _("scopes beyond status"),
        base_choices=[(s.value, s.label) for s in Scope if s != Scope.STATUS],
        help_text=_("Vaccination status is always granted; tick what else it may receive."),
    )
    purposes = ChoiceListField(
        _("purposes"),
        base_choices=Purpose.choices,
        help_text=_("The purposes its operators may state to a customer."),
    )
    daily_quota = models.PositiveIntegerField(
        _("daily quota"),
        default=1000,
        help_text=_("Verifications it may start per day (Indian Standard Time)."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.state == self.State.APPROVED

    def granted_scopes(self) -> list[str]:
        """Status first, then the extra scopes in a stable order."""
        return [Scope.STATUS.value] + [s.value for s in Scope if s.value in self.scopes]

    def purpose_choices(self) -> list[tuple[str, str]]:
        return [(p.value, p.label) for p in Purpose if p.value in self.purposes]


class Membership(models.Model):
    """A person's place in one organisation. A login belongs to exactly one organisation."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Organisation admin")
        OPERATOR = "operator", _("Operator")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.organisation})"
