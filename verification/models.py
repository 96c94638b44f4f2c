import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kyvs.fields import ChoiceListField
from providers.models import Organisation, Purpose, Scope
from verification import registry


class VaccinationStatus(models.IntegerChoices):
    NOT_VACCINATED = 0, _("Not vaccinated")
    PARTIALLY_VACCINATED = 1, _("Partially vaccinated")
    FULLY_VACCINATED = 2, _("Fully vaccinated")


class Vaccine(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    primary_doses_required = models.PositiveSmallIntegerField(
        _("primary doses for full vaccination"),
        validators=[MinValueValidator(1), MaxValueValidator(9)],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("vaccine")
        verbose_name_plural = _("vaccines")

    def __str__(self) -> str:
        return self.name


class BeneficiaryQuerySet(models.QuerySet):
    def matching(self, full_name: str, mobile: str):
        """Beneficiaries registered on `mobile` whose name matches `full_name`.

        Both arguments may be raw input; they are normalised here.
        """
        return self.filter(
            mobile=registry.normalise_mobile(mobile),
            name_normalised=registry.normalise_name(full_name),
        )


class Beneficiary(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")
        OTHER = "O", _("Other")

    reference_id = models.CharField(
        _("beneficiary reference id"),
        max_length=14,
        unique=True,
        validators=[RegexValidator(r"^\d{14}$", _("A reference id is 14 digits."))],
    )
    name = models.CharField(_("name as registered"), max_length=200)
    name_normalised = models.CharField(max_length=200, editable=False)
    mobile = models.CharField(
        _("registered mobile"),
        max_length=10,
        validators=[RegexValidator(r"^[6-9]\d{9}$", _("An Indian mobile has 10 digits."))],
    )
    birth_year = models.PositiveSmallIntegerField(_("birth year"))
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)

    objects = BeneficiaryQuerySet.as_manager()

    class Meta:
        verbose_name = _("beneficiary")
        verbose_name_plural = _("beneficiaries")
        indexes = [models.Index(fields=["mobile", "name_normalised"])]

    def __str__(self) -> str:
        return self.reference_id

    def save(self, *args, **kwargs):
        self.name_normalised = registry.normalise_name(self.name)
        super().save(*args, **kwargs)

    def vaccination_status(self) -> VaccinationStatus:
        doses = [
            registry.DoseFacts(
                is_primary=d.kind == Dose.Kind.PRIMARY,
                date=d.date,
                dose_number=d.dose_number,
                primary_doses_required=d.vaccine.primary_doses_required,
            )
            for d in self.doses.select_related("vaccine")
        ]
        return VaccinationStatus(registry.status_from_doses(doses))


class Dose(models.Model):
    class Kind(models.TextChoices):
        PRIMARY = "primary", _("Primary")
        PRECAUTION = "precaution", _("Precaution")

    beneficiary = models.ForeignKey(Beneficiary, on_delete=models.CASCADE, related_name="doses")
    vaccine = models.ForeignKey(Vaccine, on_delete=models.PROTECT, related_name="doses")
    dose_number = models.PositiveSmallIntegerField(
        _("dose number"), validators=[MinValueValidator(1)]
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    date = models.DateField(_("date"))
    centre = models.CharField(_("centre"), max_length=200)
    district = models.CharField(_("district"), max_length=100)
    state = models.CharField(_("state"), max_length=100)

    class Meta:
        ordering = ["date", "dose_number"]
        verbose_name = _("dose")
        verbose_name_plural = _("doses")
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary", "kind", "dose_number"], name="one_dose_per_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.vaccine} {self.get_kind_display()} {self.dose_number}"


class Verification(models.Model):
    """One request by one organisation to learn one customer's status, with consent.

    The row is the audit record: who asked, when, why, through which channel and with which
    outcome. It never holds the OTP (only its keyed hash), the full mobile number or the
    answer's details.
    """

    class State(models.TextChoices):
        OTP_SENT = "otp_sent", _("OTP sent")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Channel(models.TextChoices):
        WEB = "web", _("Hosted webpage")
        EMBED = "embed", _("Embedded page")
        API = "api", _("API")

    class FailureReason(models.TextChoices):
        TOO_MANY_ATTEMPTS = "too_many_attempts", _("Too many wrong codes")
        ORGANISATION_NOT_APPROVED = "organisation_not_approved", _("Organisation not approved")
        SMS_NOT_SENT = "sms_not_sent", _("SMS could not be sent")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="verifications"
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications",
    )
    api_key = models.ForeignKey(
        "providers.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    scopes = ChoiceListField(_("scopes granted"), base_choices=Scope.choices)
    # Null when the name and mobile matched no one, or more than one person.
    beneficiary = models.ForeignKey(
        Beneficiary,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications",
    )
    mobile_masked = models.CharField(_("mobile (masked)"), max_length=16)
    otp_hash = models.CharField(max_length=64)
    otp_sent_at = models.DateTimeField()
    otp_expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(_("wrong codes"), default=0)
    resends = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.OTP_SENT
    )
    failure_reason = models.CharField(
        _("failure reason"), max_length=32, choices=FailureReason.choices, blank=True
    )
    # The client's address as the request reached us (see kyvs.http.client_ip), for the audit.
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        indexes = [models.Index(fields=["organisation", "created_at"])]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def attempts_left(self) -> int:
        return max(settings.KYVS_OTP_MAX_ATTEMPTS - self.attempts, 0)

    @property
    def resends_left(self) -> int:
        return max(settings.KYVS_OTP_MAX_RESENDS - self.resends, 0)

    def resend_available_at(self):
        return self.otp_sent_at + timedelta(seconds=settings.KYVS_OTP_RESEND_AFTER_SECONDS)

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.otp_expires_at

    def extra_scopes(self) -> list[str]:
        return [s for s in self.scopes if s != Scope.STATUS]
