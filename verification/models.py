import hmac
import math
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from kyvs.fields import ChoiceListField, IndianMobileModelField, ParsedCharField
from providers.models import Organisation, Purpose, Scope
from verification import otp as otps
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
        """Beneficiaries registered on `mobile` (the 10-digit form of
        kyvs.mobile.normalise_mobile) whose name matches `full_name` as typed (compared in
        the form of verification.registry.normalise_name)."""
        return self.filter(mobile=mobile, name_normalised=registry.normalise_name(full_name))

    def mobile_of(self, beneficiary_id: int) -> str:
        """The registered mobile (10 digits) of beneficiary `beneficiary_id`; "" if there is
        no such beneficiary. Read by itself, by primary key: the SMS jobs read it apart from
        the verification, so that no query joins a verification to the registry (the two
        would be distributed by different columns on Citus, docs/scaling.md)."""
        return self.filter(pk=beneficiary_id).values_list("mobile", flat=True).first() or ""


class ReferenceIdField(ParsedCharField):
    """A beneficiary reference id, stored in ASCII digits (registry.parse_reference_id)."""

    parse = staticmethod(registry.parse_reference_id)
    invalid_message = _("A reference id is 14 digits.")


class Beneficiary(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")
        OTHER = "O", _("Other")

    reference_id = ReferenceIdField(
        _("beneficiary reference id"),
        max_length=14,
        validators=[RegexValidator(r"\A[0-9]{14}\Z", _("A reference id is 14 digits."))],
    )
    name = models.CharField(_("name as registered"), max_length=200)
    name_normalised = models.CharField(_("name, as matched"), max_length=200, editable=False)
    mobile = IndianMobileModelField(
        _("registered mobile"),
        validators=[RegexValidator(r"\A[6-9][0-9]{9}\Z", _("An Indian mobile has 10 digits."))],
    )
    birth_year = models.PositiveSmallIntegerField(_("birth year"))
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)

    objects = BeneficiaryQuerySet.as_manager()

    class Meta:
        verbose_name = _("beneficiary")
        verbose_name_plural = _("beneficiaries")
        indexes = [models.Index(fields=["mobile", "name_normalised"])]
        # A constraint rather than unique=True: on PostgreSQL, unique=True on a text column
        # also makes a second index for LIKE, which no query here uses and which every
        # import pays for (docs/benchmarks.md). Lookups are by the whole id.
        constraints = [
            models.UniqueConstraint(
                fields=["reference_id"], name="one_beneficiary_per_reference_id"
            )
        ]

    def __str__(self) -> str:
        return self.reference_id

    def save(self, *args, **kwargs):
        self.name_normalised = registry.normalise_name(self.name)
        super().save(*args, **kwargs)

    def doses_with_vaccines(self) -> list["Dose"]:
        """This person's doses, each with its vaccine, in the doses' order: one query."""
        return list(self.doses.select_related("vaccine"))

    def vaccination_status(self, doses: list["Dose"] | None = None) -> VaccinationStatus:
        """0, 1 or 2 (status_of) from `doses`, this person's doses_with_vaccines() when the
        caller has read them already, else read here."""
        if doses is None:
            doses = self.doses_with_vaccines()
        return status_of(doses)


def status_of(doses: list["Dose"]) -> VaccinationStatus:
    """0, 1 or 2 (verification.registry.status_from_doses) from one person's doses, each read
    with its vaccine (Beneficiary.doses_with_vaccines, Dose.objects.with_vaccines_of)."""
    facts = [
        registry.DoseFacts(
            is_primary=d.kind == Dose.Kind.PRIMARY,
            date=d.date,
            dose_number=d.dose_number,
            primary_doses_required=d.vaccine.primary_doses_required,
        )
        for d in doses
    ]
    return VaccinationStatus(registry.status_from_doses(facts))


class DoseQuerySet(models.QuerySet):
    def with_vaccines_of(self, beneficiary_id: int) -> list["Dose"]:
        """The doses of beneficiary `beneficiary_id`, each with its vaccine, in the doses'
        order: one query, as Beneficiary.doses_with_vaccines, for a caller that holds the
        beneficiary's key and not its row (a verification)."""
        return list(self.filter(beneficiary_id=beneficiary_id).select_related("vaccine"))


class Dose(models.Model):
    class Kind(models.TextChoices):
        PRIMARY = "primary", _("Primary")
        PRECAUTION = "precaution", _("Precaution")

    # No index of its own: one_dose_per_number's index starts with the beneficiary and
    # serves every look-up by it, and a second index would only slow the import.
    beneficiary = models.ForeignKey(
        Beneficiary,
        on_delete=models.CASCADE,
        related_name="doses",
        verbose_name=_("beneficiary"),
        db_index=False,
    )
    vaccine = models.ForeignKey(
        Vaccine, on_delete=models.PROTECT, related_name="doses", verbose_name=_("vaccine")
    )
    dose_number = models.PositiveSmallIntegerField(
        _("dose number"), validators=[MinValueValidator(1)]
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    date = models.DateField(_("date"))
    centre = models.CharField(_("centre"), max_length=200)
    district = models.CharField(_("district"), max_length=100)
    state = models.CharField(_("state"), max_length=100)

    objects = DoseQuerySet.as_manager()

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


class VerificationQuerySet(models.QuerySet):
    """Lookups of verifications, by what they are for."""

    def for_organisation(self, organisation) -> "VerificationQuerySet":
        return self.filter(organisation=organisation)

    def through(self, channel: str) -> "VerificationQuerySet":
        return self.filter(channel=channel)

    def started_since(self, moment) -> "VerificationQuerySet":
        return self.filter(created_at__gte=moment)

    def older_than(self, cutoff) -> "VerificationQuerySet":
        """Started before `cutoff`: what the retention rule anonymises."""
        return self.filter(created_at__lt=cutoff)

    def waiting_for_code(self) -> "VerificationQuerySet":
        return self.filter(state=Verification.State.OTP_SENT)

    def state_of(self, public_id) -> str | None:
        """The state (Verification.State) of the verification `public_id` (a UUID or its
        text), or None if there is none: one column of one row, for a screen's poll."""
        return self.filter(public_id=public_id).values_list("state", flat=True).first()

    def locked(self) -> "VerificationQuerySet":
        """Rows locked until the transaction ends (SELECT ... FOR UPDATE), with the
        organisation read alongside. Only the verification row is locked: PostgreSQL cannot
        lock the nullable side of the outer join, and a lock on the organisation would queue
        every verification of a busy organisation.

        Callers filter by `public_id`, the column verifications would be distributed by on
        Citus (docs/scaling.md), so that the lock is one shard's. The beneficiary is not
        joined: the registry would be distributed by another column, and a join across the
        two is what a hot path must not make. Whoever needs the beneficiary reads it apart
        (Beneficiary.objects.mobile_of, Dose.objects.with_vaccines_of)."""
        return self.select_for_update(of=("self",)).select_related("organisation")

    def for_approve_link(self, public_id, token: str) -> "VerificationQuerySet":
        """The verification whose "approve on my phone" link is /c/<public id>/<token>
        (Verification.issue_approve_link), while that link is live: by its public id (one
        row, one shard on Citus) and the token's keyed digest. A token is no use with
        another verification's public id, nor a public id without its token."""
        return self.filter(
            public_id=public_id, approve_digest=Verification.approve_digest_of(token)
        )

    def still_personal(self) -> "VerificationQuerySet":
        """Rows that still hold something that could point at a person."""
        return self.filter(
            models.Q(beneficiary__isnull=False)
            | ~models.Q(mobile_masked="")
            | ~models.Q(otp_hash="")
            | ~models.Q(approve_digest="")
            | models.Q(ip__isnull=False)
        )

    def anonymise(self) -> int:
        """Clear what could point at a person: the beneficiary, the masked mobile, the
        client's address and any code hash. Organisation, actor, channel, purpose, outcome
        and dates stay, so usage counts and the console's history stay true. Returns the
        number of rows changed."""
        return self.update(
            beneficiary=None, mobile_masked="", otp_hash="", approve_digest="", ip=None
        )

    def mark_code_sent(self, public_id, otp_hash: str) -> int:
        """Record that the SMS carrying the code whose hash is `otp_hash` was handed to the
        gateway (or that there was nobody to send it to), for the verification whose
        `public_id` (a UUID or its string) is given. A code replaced meanwhile is left
        alone. Returns 1 if it recorded it, else 0."""
        return self.filter(
            public_id=public_id, otp_hash=otp_hash, code_delivery=Verification.Delivery.SENDING
        ).update(code_delivery=Verification.Delivery.SENT)


class Verification(models.Model):
    """One request by one organisation to learn one customer's status, with consent.

    The row is the audit record: who asked, when, why, through which channel and with which
    outcome. It never holds the OTP (only its keyed hash), the full mobile number or the
    answer's details.

    Its state changes only through the methods below (and VerificationQuerySet's
    `mark_code_sent`): `request_code`, `request_resend`, `issue_code`, `void_unsent_code`,
    `record_wrong_code`, `mark_verified`, `fail`, `cancel`. Each method changes the object;
    the caller saves it, inside a transaction holding the row lock
    (`Verification.objects.locked()`), as verification/services.py and
    verification/delivery.py do.

    A code is asked for by the request (`request_code`, `request_resend`) and made by the
    task queue's worker just before it sends the SMS (`issue_code`): the queue never holds a
    code, and the request does the same work whether or not anyone matched.
    """

    class State(models.TextChoices):
        OTP_SENT = "otp_sent", _("OTP sent")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        DECLINED = "declined", _("Declined by the customer")

    class Blocked(models.TextChoices):
        """Why a start that matched a person was answered as if it had matched no one."""

        NO = "", _("Not blocked")
        LOCK = "lock", _("Blocked by the citizen's lock")
        ORGANISATION = "organisation", _("Blocked: the citizen blocked this organisation")

    class Channel(models.TextChoices):
        WEB = "web", _("Hosted webpage")
        EMBED = "embed", _("Embedded page")
        API = "api", _("API")
        # The citizen checking their own status ("My status"): no organisation asks.
        CITIZEN = "citizen", _("The citizen's own check")

    class Delivery(models.TextChoices):
        """Where the SMS with the present code stands."""

        QUEUED = "queued", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")

    class FailureReason(models.TextChoices):
        TOO_MANY_ATTEMPTS = "too_many_attempts", _("Too many wrong codes")
        ORGANISATION_NOT_APPROVED = "organisation_not_approved", _("Organisation not approved")
        SMS_NOT_SENT = "sms_not_sent", _("SMS could not be sent")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    # None only for the citizen's own check (Channel.CITIZEN): no organisation asks.
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="verifications",
        verbose_name=_("organisation"),
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications",
        verbose_name=_("operator"),
    )
    api_key = models.ForeignKey(
        "providers.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications",
        verbose_name=_("API key"),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # Empty for the citizen's own check.
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices, blank=True)
    scopes = ChoiceListField(_("scopes granted"), base_choices=Scope.choices)
    # Null when the name and mobile matched no one, or more than one person.
    beneficiary = models.ForeignKey(
        Beneficiary,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verifications",
        verbose_name=_("beneficiary"),
    )
    mobile_masked = models.CharField(_("mobile (masked)"), max_length=16)
    otp_hash = models.CharField(_("OTP digest"), max_length=64)
    otp_sent_at = models.DateTimeField(
        _("OTP sent"),
    )
    otp_expires_at = models.DateTimeField(
        _("OTP expires"),
    )
    attempts = models.PositiveSmallIntegerField(_("wrong codes"), default=0)
    resends = models.PositiveSmallIntegerField(_("resends"), default=0)
    # The SMS of the present code: where it stands, how many times it was tried, and until
    # when it may be tried again (the code's validity from the moment it was asked for).
    code_delivery = models.CharField(
        _("SMS"), max_length=8, choices=Delivery.choices, default=Delivery.QUEUED
    )
    delivery_attempts = models.PositiveSmallIntegerField(_("SMS attempts"), default=0)
    deliver_by = models.DateTimeField(_("SMS to be delivered by"), null=True, blank=True)
    # The language the SMS is written in: the screen's when the code was asked for.
    language = models.CharField(_("language"), max_length=8, default="en")
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.OTP_SENT
    )
    failure_reason = models.CharField(
        _("failure reason"), max_length=32, choices=FailureReason.choices, blank=True
    )
    # A start for a citizen who locked their status, or blocked this organisation: answered
    # and sent nothing exactly as a no-match, kept linked to them for their history.
    blocked = models.CharField(
        _("blocked"), max_length=16, choices=Blocked.choices, default=Blocked.NO, blank=True
    )
    # Keyed digest of the one-time "approve on my phone" link's token (/c/<public id>/<token>),
    # made with the code and void with it.
    # Not indexed: a link is found by its public id first (for_approve_link).
    approve_digest = models.CharField(_("approve link digest"), max_length=64, blank=True)
    # The client's address as the request reached us (see kyvs.http.client_ip), for the audit.
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    created_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = VerificationQuerySet.as_manager()

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

    def outcome_for_citizen(self, now=None) -> str:
        """How this check ended, as the citizen's history names it: shared, wrong_code,
        expired, cancelled, declined, blocked_lock, blocked_organisation, sms_not_sent,
        stopped (the organisation was suspended meanwhile) or waiting."""
        if self.blocked:
            return f"blocked_{self.blocked}"
        if self.state == self.State.VERIFIED:
            return "shared"
        if self.state == self.State.DECLINED:
            return "declined"
        if self.state == self.State.CANCELLED:
            return "cancelled"
        if self.state == self.State.FAILED:
            return {
                self.FailureReason.TOO_MANY_ATTEMPTS: "wrong_code",
                self.FailureReason.SMS_NOT_SENT: "sms_not_sent",
            }.get(self.failure_reason, "stopped")
        return "expired" if self.is_expired(now) else "waiting"

    def shared_level(self) -> str:
        """What a verified check showed: "status", "vaccinations" or "details"."""
        extra = self.extra_scopes()
        if "demographics" in extra:
            return "details"
        return "vaccinations" if "vaccinations" in extra else "status"

    @property
    def reaches_the_citizen(self) -> bool:
        """Whether the code goes to someone: a single match, not blocked."""
        return self.beneficiary_id is not None and not self.blocked

    @property
    def is_own_check(self) -> bool:
        """The citizen checking their own status: no organisation, no purpose, no receipt."""
        return self.channel == self.Channel.CITIZEN

    @property
    def is_waiting_for_code(self) -> bool:
        return self.state == self.State.OTP_SENT

    def resend_available_at(self):
        return self.otp_sent_at + timedelta(seconds=settings.KYVS_OTP_RESEND_AFTER_SECONDS)

    def seconds_until_resend(self, now=None) -> int:
        """Whole seconds until a resend is allowed (rounded up); 0 if it is now."""
        wait = (self.resend_available_at() - (now or timezone.now())).total_seconds()
        return max(math.ceil(wait), 0)

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.otp_expires_at

    def extra_scopes(self) -> list[str]:
        return [s for s in self.scopes if s != Scope.STATUS]

    # Transitions. Each changes this object only; the caller saves it.

    def request_code(self, now, language: str) -> None:
        """Ask for a new code at `now`, to be written in `language`: the worker makes it
        (issue_code) and sends it. The code it replaces stops working at once. The resend
        wait and the delivery's deadline (KYVS_OTP_TTL_SECONDS) start now."""
        ttl = timedelta(seconds=settings.KYVS_OTP_TTL_SECONDS)
        self.otp_hash = ""
        self.approve_digest = ""
        self.otp_sent_at = now
        self.otp_expires_at = now + ttl
        self.code_delivery = self.Delivery.QUEUED
        self.delivery_attempts = 0
        self.deliver_by = now + ttl
        self.language = language

    def request_resend(self, now, language: str) -> None:
        """`request_code` for a resend, counted against KYVS_OTP_MAX_RESENDS."""
        self.resends += 1
        self.request_code(now, language)

    def awaits_delivery(self, resends: int) -> bool:
        """Whether the code asked for by request number `resends` (0: the start) is still to
        be made and sent: a later resend, or an ended verification, makes it moot."""
        return (
            self.is_waiting_for_code
            and self.resends == resends
            and self.code_delivery in (self.Delivery.QUEUED, self.Delivery.SENDING)
        )

    def issue_code(self, now) -> str:
        """Make a new code, keep only its keyed hash (bound to this verification's public
        id, verification/otp.py) and start its validity (KYVS_OTP_TTL_SECONDS) at `now`;
        the SMS is now being sent. Returns the code, for the SMS only: it is never stored.
        The code it replaces stops working."""
        code = otps.make_otp()
        self.otp_hash = otps.hash_otp(code, str(self.public_id))
        self.otp_expires_at = now + timedelta(seconds=settings.KYVS_OTP_TTL_SECONDS)
        self.code_delivery = self.Delivery.SENDING
        self.delivery_attempts += 1
        return code

    def void_unsent_code(self) -> None:
        """The SMS with the present code may not have arrived: the code (and its approve
        link) stops working, and a new one is to be made and sent."""
        self.otp_hash = ""
        self.approve_digest = ""
        self.code_delivery = self.Delivery.QUEUED

    def code_matches(self, submitted: str) -> bool:
        """Whether `submitted` (six digits, or their SHA-256 in hex) is the live code, in
        constant time. Never true when nobody matched (or the citizen blocked it): no code
        was sent to anyone."""
        return self.reaches_the_citizen and otps.otp_matches(
            self.otp_hash, submitted, str(self.public_id)
        )

    def issue_approve_link(self) -> str:
        """Make the token of the one-time "approve on my phone" link that goes with the code
        (secrets.token_urlsafe: 128 bits) and keep only its keyed digest. Returns the token,
        for the SMS only: the link is /c/<public id>/<token> (verification/approve.py), found
        by both (VerificationQuerySet.for_approve_link). The link it replaces stops
        working."""
        token = secrets.token_urlsafe(16)
        self.approve_digest = Verification.approve_digest_of(token)
        return token

    @staticmethod
    def approve_digest_of(token: str) -> str:
        return salted_hmac("kyvs.verification.approve", token, algorithm="sha256").hexdigest()

    def approve_link_matches(self, token: str, now) -> bool:
        """Whether `token` is this verification's live approve link, in constant time: one
        made with the present code, unused, the code not expired."""
        return (
            self.reaches_the_citizen
            and bool(self.approve_digest)
            and not self.is_expired(now)
            and hmac.compare_digest(self.approve_digest, Verification.approve_digest_of(token))
        )

    def record_wrong_code(self, now) -> bool:
        """Count a wrong code; the one that reaches KYVS_OTP_MAX_ATTEMPTS fails the
        verification. Returns whether it did."""
        self.attempts += 1
        if self.attempts >= settings.KYVS_OTP_MAX_ATTEMPTS:
            self.fail(self.FailureReason.TOO_MANY_ATTEMPTS, now)
            return True
        return False

    def mark_verified(self, now) -> None:
        self._finish(self.State.VERIFIED, now)

    def fail(self, reason: str, now) -> None:
        """End as failed for `reason` (a FailureReason); the code stops working."""
        self._finish(self.State.FAILED, now)
        self.failure_reason = reason

    def cancel(self, now) -> None:
        self._finish(self.State.CANCELLED, now)

    def decline(self, now) -> None:
        """The customer said no (on the shared screen, or on their own phone)."""
        self._finish(self.State.DECLINED, now)

    def _finish(self, state: str, now) -> None:
        if not self.is_waiting_for_code:
            raise ValueError(f"verification {self.public_id} is {self.state}, not waiting")
        self.state = state
        self.otp_hash = ""
        self.approve_digest = ""
        self.finished_at = now


class EmbedUrlRefused(Exception):
    """An embed session's URL that cannot be opened: `reason` is "unknown" (no session has
    that token), "used" (opened before) or "expired"; `session` is the session, when known."""

    def __init__(self, reason: str, session: "EmbedSession | None" = None):
        super().__init__(reason)
        self.reason = reason
        self.session = session


class EmbedSession(models.Model):
    """A frame an organisation's back end opens for one verification, with no sign-in: made
    with an API key (POST /api/v3/embed/sessions), it is bound to that organisation, that
    key, the one origin that may frame it and the purpose. Its URL carries a random token
    (secrets.token_urlsafe: 256 bits), works once and for URL_LIFETIME; only a keyed digest
    of the token is kept, as for API keys. Opening the URL binds the frame's own session to
    it (verification/embed.py). `verification` is the verification it started, if any.

    Kept in the verification app: it joins a verification (this app) to an API key and an
    organisation (providers), and providers knows nothing of how a verification works.
    """

    # "The URL is single-use, valid for 5 minutes" (the embed issue).
    URL_LIFETIME = timedelta(minutes=5)
    TOKEN_BYTES = 32

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="embed_sessions",
        verbose_name=_("organisation"),
    )
    api_key = models.ForeignKey(
        "providers.ApiKey",
        on_delete=models.CASCADE,
        related_name="embed_sessions",
        verbose_name=_("API key"),
    )
    origin = models.CharField(_("origin"), max_length=255)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    verification = models.OneToOneField(
        Verification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="embed_session",
        verbose_name=_("verification"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("URL expires"))
    opened_at = models.DateTimeField(_("URL opened"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("embed session")
        verbose_name_plural = _("embed sessions")

    def __str__(self) -> str:
        return str(self.public_id)

    @staticmethod
    def digest_of(token: str) -> str:
        digest = salted_hmac("kyvs.verification.embed-session", token, algorithm="sha256")
        return digest.hexdigest()

    @classmethod
    def issue(cls, *, api_key, origin: str, purpose: str, verification=None, now=None):
        """A new session for `api_key`'s organisation; returns (session, token). The token is
        never stored and never seen again: the URL built from it is the only copy."""
        now = now or timezone.now()
        token = secrets.token_urlsafe(cls.TOKEN_BYTES)
        session = cls.objects.create(
            token_digest=cls.digest_of(token),
            organisation=api_key.organisation,
            api_key=api_key,
            origin=origin,
            purpose=purpose,
            verification=verification,
            created_at=now,
            expires_at=now + cls.URL_LIFETIME,
        )
        return session, token

    @classmethod
    def open(cls, token: str, now=None) -> "EmbedSession":
        """Use the URL carrying `token`, once: one conditional UPDATE marks it opened only if
        it was not opened before and has not expired, so of two requests at the same moment
        exactly one succeeds. EmbedUrlRefused otherwise."""
        now = now or timezone.now()
        session = (
            cls.objects.select_related("organisation", "api_key", "verification")
            .filter(token_digest=cls.digest_of(token))
            .first()
        )
        if session is None:
            raise EmbedUrlRefused("unknown")
        opened = cls.objects.filter(
            pk=session.pk, opened_at__isnull=True, expires_at__gt=now
        ).update(opened_at=now)
        if not opened:
            session.refresh_from_db(fields=["opened_at"])
            raise EmbedUrlRefused("used" if session.opened_at else "expired", session)
        session.opened_at = now
        return session

    @property
    def acts_for_live_key(self) -> bool:
        """Whether the key that made it still works: not revoked, of an approved
        organisation. A frame of a session whose key is revoked, or whose organisation is
        suspended, does nothing more."""
        return self.api_key.is_active and self.organisation.is_approved


class StatusShareQuerySet(models.QuerySet):
    def live(self, now=None) -> "StatusShareQuerySet":
        """Shares not deleted and not yet expired."""
        return self.filter(deleted_at__isnull=True, expires_at__gt=now or timezone.now())

    def for_token(self, token: str) -> "StatusShare | None":
        """The share whose link carries `token` (deleted or expired ones too: their page says
        so), or None. One indexed lookup by the token's keyed digest."""
        if not token or len(token) > 100:
            return None
        return self.filter(token_digest=StatusShare.digest_of(token)).first()


class StatusShare(models.Model):
    """A card a citizen made of their own status, to share: a public page at /s/<token>/
    and two images, live while the share is (deleted, or past `expires_at`: 410).

    It holds what the card shows and nothing more: the status and when KYVS checked it, the
    card's language and, only if the citizen chose it, their first name. The token in the
    link (secrets.token_urlsafe: 256 bits) is kept only as a keyed digest, as API keys are:
    the link is shown to the citizen when made, and is theirs to give.
    """

    TOKEN_BYTES = 32

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.CASCADE, related_name="shares", verbose_name=_("beneficiary")
    )
    status = models.PositiveSmallIntegerField(_("status"), choices=VaccinationStatus.choices)
    checked_at = models.DateTimeField(_("checked"))
    language = models.CharField(_("language"), max_length=8)
    first_name = models.CharField(_("first name shown"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("made"), default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    objects = StatusShareQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("status share")
        verbose_name_plural = _("status shares")

    def __str__(self) -> str:
        return str(self.public_id)

    @staticmethod
    def digest_of(token: str) -> str:
        return salted_hmac("kyvs.verification.share", token, algorithm="sha256").hexdigest()

    @classmethod
    def issue(
        cls,
        beneficiary: Beneficiary,
        *,
        language: str,
        first_name: str = "",
        now=None,
    ) -> tuple["StatusShare", str]:
        """A share of `beneficiary`'s status as it is now, valid KYVS_SHARE_VALID_DAYS;
        returns (share, token). The token is never stored: the link built from it is."""
        now = now or timezone.now()
        token = secrets.token_urlsafe(cls.TOKEN_BYTES)
        share = cls.objects.create(
            token_digest=cls.digest_of(token),
            beneficiary=beneficiary,
            status=int(beneficiary.vaccination_status()),
            checked_at=now,
            language=language,
            first_name=first_name,
            created_at=now,
            expires_at=now + timedelta(days=settings.KYVS_SHARE_VALID_DAYS),
        )
        return share, token

    def is_live(self, now=None) -> bool:
        return self.deleted_at is None and (now or timezone.now()) < self.expires_at

    def seconds_left(self, now=None) -> int:
        """Whole seconds until it expires (0 when deleted or expired)."""
        if not self.is_live(now):
            return 0
        return int((self.expires_at - (now or timezone.now())).total_seconds())

    def delete_share(self, now=None) -> None:
        """The page and the images stop at once (410); the row stays, without the name."""
        if self.deleted_at is None:
            self.deleted_at = now or timezone.now()
            self.first_name = ""
            self.save(update_fields=["deleted_at", "first_name"])


class CitizenRestrictionQuerySet(models.QuerySet):
    def stopping(self, beneficiary_id, organisation_id):
        """The restrictions that stop `organisation_id` from checking `beneficiary_id`: a
        lock (every organisation) or a block of that organisation. One indexed query; with no
        beneficiary (nobody matched) it is asked all the same and finds nothing, so a match
        and a no-match do the same work."""
        return self.filter(beneficiary_id=beneficiary_id).filter(
            models.Q(organisation__isnull=True) | models.Q(organisation_id=organisation_id)
        )


class CitizenRestriction(models.Model):
    """A citizen's "no": with no organisation, a lock of their status against every
    organisation ("Lock my status"); with one, a block of that organisation. While it
    stands, every start for them by those organisations, on any channel, is answered exactly
    as if nobody matched, sends no SMS, and shows in their history as blocked."""

    beneficiary = models.ForeignKey(
        Beneficiary,
        on_delete=models.CASCADE,
        related_name="restrictions",
        verbose_name=_("beneficiary"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organisation"),
    )
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    objects = CitizenRestrictionQuerySet.as_manager()

    class Meta:
        verbose_name = _("citizen's lock or block")
        verbose_name_plural = _("citizens' locks and blocks")
        constraints = [
            models.UniqueConstraint(
                fields=["beneficiary"],
                condition=models.Q(organisation__isnull=True),
                name="one_lock_per_beneficiary",
            ),
            models.UniqueConstraint(
                fields=["beneficiary", "organisation"], name="one_block_per_organisation"
            ),
        ]

    def __str__(self) -> str:
        return "lock" if self.organisation_id is None else f"block of {self.organisation}"


class CitizenReport(models.Model):
    """A citizen's report of a check they did not agree to: the registry admin's queue
    ("Reports from citizens"). The organisation is never told who reported."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    verification = models.ForeignKey(
        Verification,
        on_delete=models.CASCADE,
        related_name="reports",
        verbose_name=_("verification"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="citizen_reports",
        verbose_name=_("organisation"),
    )
    text = models.CharField(_("what happened, in the citizen's words"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("reported"), default=timezone.now)
    handled_at = models.DateTimeField(_("handled"), null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("report from a citizen")
        verbose_name_plural = _("reports from citizens")
        constraints = [
            models.UniqueConstraint(fields=["verification"], name="one_report_per_verification")
        ]

    def __str__(self) -> str:
        return str(self.public_id)
