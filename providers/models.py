import hmac
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
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


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def for_key(self, raw_key: str) -> "ApiKey | None":
        """The live key that `raw_key` is, or None. One indexed lookup by the visible prefix
        and one HMAC, compared in constant time: no password hashing on the request path."""
        prefix = ApiKey.prefix_of(raw_key)
        if prefix is None:
            return None
        key = self.active().select_related("organisation").filter(prefix=prefix).first()
        if key is None or not hmac.compare_digest(key.digest, ApiKey.digest_of(raw_key)):
            return None
        return key


class ApiKey(models.Model):
    """A key an organisation's software uses to call the API.

    The key is shown once, at creation. Only its visible prefix (so a key seen in a log can
    be found and revoked) and a keyed digest are stored.
    """

    PREFIX = "kyvs_"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = ChoiceListField(
        _("scopes beyond status"),
        base_choices=[(s.value, s.label) for s in Scope if s != Scope.STATUS],
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def prefix_of(cls, raw_key: str) -> str | None:
        if not raw_key.startswith(cls.PREFIX) or raw_key.count("_") < 2:
            return None
        prefix = raw_key[: raw_key.index("_", len(cls.PREFIX))]
        return prefix if len(prefix) <= 16 else None

    @staticmethod
    def digest_of(raw_key: str) -> str:
        return salted_hmac("kyvs.providers.apikey", raw_key, algorithm="sha256").hexdigest()

    @classmethod
    def issue(cls, organisation: Organisation, name: str, scopes=None, created_by=None):
        """Create a key; returns (api_key, raw_key). The raw key is never seen again."""
        prefix = cls.PREFIX + secrets.token_hex(4)
        raw_key = f"{prefix}_{secrets.token_urlsafe(32)}"
        allowed = [
            s
            for s in (scopes if scopes is not None else organisation.scopes)
            if s in organisation.scopes
        ]
        api_key = cls.objects.create(
            organisation=organisation,
            name=name,
            prefix=prefix,
            digest=cls.digest_of(raw_key),
            scopes=allowed,
            created_by=created_by,
        )
        return api_key, raw_key

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def granted_scopes(self) -> list[str]:
        """What a call with this key may receive: the key's scopes that the organisation
        still holds (a scope withdrawn from the organisation is withdrawn from its keys)."""
        return [Scope.STATUS.value] + [
            s for s in self.organisation.granted_scopes() if s in self.scopes
        ]

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
