import hmac
import math
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, is_password_usable
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

from kyvs.fields import ChoiceListField, IndianMobileModelField
from providers import emails
from providers.origins import parse_origins
from providers.registration import IndianState, RegistrationKind
from providers.sms_names import MAX_LENGTH as SMS_NAME_MAX_LENGTH
from providers.sms_names import sms_name_from, validate_sms_name


class Scope(models.TextChoices):
    """What an organisation may learn about a customer. `status` is always granted."""

    STATUS = "status", _("Vaccination status")
    VACCINATIONS = "vaccinations", _("Vaccination events (vaccine, dose, date, centre)")
    DEMOGRAPHICS = "demographics", _("Demographics (name as registered, birth year, gender)")

    @classmethod
    def beyond_status(cls) -> list[tuple[str, str]]:
        """(value, label) of the scopes an organisation must be granted: all but `status`."""
        return [(s.value, s.label) for s in cls if s != cls.STATUS]

    @classmethod
    def only_beyond_status(cls, scopes) -> list[str]:
        """`scopes` cut down to known scopes beyond `status`, in the stable order above."""
        return [s.value for s in cls if s != cls.STATUS and s.value in scopes]


class Purpose(models.TextChoices):
    TRAVEL = "travel", _("Travel")
    EMPLOYMENT = "employment", _("Employment")
    VENUE_ENTRY = "venue_entry", _("Venue entry")
    SERVICE = "service", _("Service")


class OrganisationQuerySet(models.QuerySet):
    def approved(self):
        return self.filter(state=Organisation.State.APPROVED)

    def pending(self):
        return self.filter(state=Organisation.State.PENDING)

    def named_in_sms(self, sms_name: str):
        """The organisations whose name in SMS is `sms_name`, letter case aside. There should
        be at most one: citizens must be able to tell who is asking."""
        return self.filter(sms_name__iexact=sms_name)


def accounts_using(address: str) -> models.QuerySet:
    """The accounts (users) whose sign-in name or e-mail is `address`, letter case aside.
    One address stands for one person: at most one account should ever use it."""
    return get_user_model().objects.filter(Q(username__iexact=address) | Q(email__iexact=address))


def _midnight(moment):
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def start_of_today():
    """Midnight today in TIME_ZONE (Indian Standard Time): when daily counts begin."""
    return _midnight(timezone.localtime())


class DecisionRefused(Exception):
    """A registry admin's decision that does not fit the organisation's present state."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Organisation(models.Model):
    class Kind(models.TextChoices):
        TRAVEL_AGENCY = "travel_agency", _("Travel agency")
        EMPLOYER = "employer", _("Employer")
        HOSPITALITY = "hospitality", _("Hospitality")
        ENTERTAINMENT = "entertainment", _("Entertainment")
        RAILWAY = "railway", _("Railway")
        GOVERNMENT_OFFICE = "government_office", _("Government office")
        OTHER = "other", _("Other")

    class Sector(models.TextChoices):
        PRIVATE = "private", _("Private")
        GOVERNMENT = "government", _("Government")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    # What citizens' phones show: every SMS names the organisation by this, never by `name`
    # (providers/sms_names.py has the rules and why).
    sms_name = models.CharField(
        _("name in SMS"),
        max_length=SMS_NAME_MAX_LENGTH,
        validators=[validate_sms_name],
        help_text=_(
            "How the SMS with a citizen's code names the organisation: at most 30 characters, "
            "English letters, digits, single spaces and & . -"
        ),
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    scopes = ChoiceListField(
        _("scopes beyond status"),
        base_choices=Scope.beyond_status(),
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
    created_at = models.DateTimeField(_("applied"), auto_now_add=True)

    # The application, as the organisation gave it.
    sector = models.CharField(
        _("sector"), max_length=16, choices=Sector.choices, default=Sector.PRIVATE
    )
    registration_kind = models.CharField(
        _("registration number kind"), max_length=8, choices=RegistrationKind.choices, blank=True
    )
    registration_number = models.CharField(_("registration number"), max_length=32, blank=True)
    address = models.TextField(_("address"), blank=True)
    indian_state = models.CharField(
        _("state or union territory"), max_length=2, choices=IndianState.choices, blank=True
    )
    website = models.URLField(_("website"), blank=True)
    contact_name = models.CharField(_("contact person"), max_length=200, blank=True)
    contact_email = models.EmailField(_("official e-mail"), blank=True)
    contact_mobile = IndianMobileModelField(_("official mobile"), blank=True)
    requested_purposes = ChoiceListField(_("purposes asked for"), base_choices=Purpose.choices)
    requested_scopes = ChoiceListField(
        _("scopes asked for beyond status"),
        base_choices=Scope.beyond_status(),
    )
    scope_reasons = models.JSONField(_("reasons for the scopes"), default=dict, blank=True)
    terms_accepted_at = models.DateTimeField(_("terms accepted"), null=True, blank=True)

    require_operator_two_factor = models.BooleanField(
        _("operators sign in with two factors"),
        default=False,
        help_text=_("Its operators must enrol an authenticator app and use it to sign in."),
    )
    # Where its own website may frame KYVS's embeddable page (providers/origins.py).
    embed_origins = models.JSONField(
        _("origins allowed to embed KYVS"),
        default=list,
        blank=True,
        help_text=_("Origins of its own website, such as https://booking.example.com."),
    )

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(
                fields=["registration_number"],
                condition=~models.Q(registration_number=""),
                name="one_organisation_per_registration_number",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Every organisation has a name for SMS; one made without (by a script, a test)
        # gets one made from its name. Applicants choose theirs, the registry approves it.
        if not self.sms_name:
            made = sms_name_from(self.name) or sms_name_from(self.registration_number)
            self.sms_name = made or "Organisation"
        super().save(*args, **kwargs)

    def clean(self):
        """The registry admin's edits (the admin runs it): no two organisations may have
        the same name in SMS."""
        error = self.sms_name_refusal(self.sms_name)
        if error:
            raise ValidationError({"sms_name": error})

    def sms_name_refusal(self, sms_name: str):
        """Why `sms_name` cannot be this organisation's name in SMS (a message), or None."""
        if Organisation.objects.named_in_sms(sms_name).exclude(pk=self.pk).exists():
            return _("Another organisation already has this name in SMS.")
        return None

    @property
    def is_approved(self) -> bool:
        return self.state == self.State.APPROVED

    def started_today(self) -> int:
        """Verifications started since midnight, Indian Standard Time (TIME_ZONE): what the
        daily quota counts. One row read by its key (StartsOfDay), however many there were:
        counting the day's verifications grew with the day (docs/performance.md)."""
        started = (
            StartsOfDay.objects.filter(organisation=self, day=timezone.localdate())
            .values_list("started", flat=True)
            .first()
        )
        return started or 0

    def take_start(self, started_at: datetime) -> int:
        """Count one start in the organisation's StartsOfDay row of the day (Indian Standard
        Time) of `started_at` (the verification's created_at), and return that day's count
        with it. One statement, which makes the day's row for its first start: INSERT ... ON
        CONFLICT DO UPDATE ... RETURNING (PostgreSQL; SQLite from 3.35, and before that the
        row is read back after it). It locks the row
        until the transaction ends: call it in the transaction that writes the
        verification, so that an organisation's concurrent starts are counted one at a
        time, and a start rolled back (over the quota, say) is not counted. Only the
        counter is locked, not the organisation (docs/scaling.md)."""
        quote = connection.ops.quote_name
        table = quote(StartsOfDay._meta.db_table)
        organisation, day, started = (
            quote(StartsOfDay._meta.get_field(name).column)
            for name in ("organisation", "day", "started")
        )
        today = timezone.localdate(started_at)
        # Only quoted names from the model's metadata go into the text.
        upsert = (
            f"INSERT INTO {table} ({organisation}, {day}, {started}) "  # noqa: S608
            f"VALUES (%s, %s, 1) ON CONFLICT ({organisation}, {day}) "
            f"DO UPDATE SET {started} = {table}.{started} + 1"
        )
        with connection.cursor() as cursor:
            if connection.features.can_return_columns_from_insert:
                cursor.execute(f"{upsert} RETURNING {started}", [self.pk, today])
            else:  # SQLite before 3.35 (Django 5.2 runs on 3.31): the row, read back
                cursor.execute(upsert, [self.pk, today])
                cursor.execute(
                    f"SELECT {started} FROM {table} "  # noqa: S608
                    f"WHERE {organisation} = %s AND {day} = %s",
                    [self.pk, today],
                )
            (count,) = cursor.fetchone()
        return count

    def seconds_until_quota_resets(self) -> int:
        """Whole seconds until the next midnight (TIME_ZONE), when the quota starts again."""
        now = timezone.localtime()
        tomorrow = _midnight(now + timedelta(days=1))
        return max(math.ceil((tomorrow - now).total_seconds()), 1)

    def granted_scopes(self) -> list[str]:
        """Status first, then the extra scopes in a stable order."""
        return [Scope.STATUS.value] + [s.value for s in Scope if s.value in self.scopes]

    def requested_purpose_labels(self) -> list[str]:
        return [Purpose(p).label for p in self.requested_purposes if p in Purpose.values]

    def scope_reason_labels(self) -> list[tuple[str, str]]:
        """(scope's label, the applicant's reason) for each scope asked for beyond status."""
        return [
            (Scope(scope).label if scope in Scope.values else scope, reason)
            for scope, reason in self.scope_reasons.items()
        ]

    def purpose_choices(self) -> list[tuple[str, str]]:
        return [(p.value, p.label) for p in Purpose if p.value in self.purposes]

    def set_embed_origins(self, origins) -> list[str]:
        """Replace the origins that may frame the embeddable page with `origins` (strings, as
        typed), checked and normalised by providers.origins.parse_origins (http on loopback
        only in DEBUG); ValidationError naming each bad one, and nothing saved. Returns the
        list saved."""
        self.embed_origins = parse_origins(origins, allow_loopback_http=settings.DEBUG)
        self.save(update_fields=["embed_origins"])
        return self.embed_origins

    def admin_emails(self) -> list[str]:
        """Where news about the account goes: its active admins and the official address."""
        addresses = [
            m.user.email
            for m in self.memberships.select_related("user").filter(
                role=Membership.Role.ADMIN, user__is_active=True
            )
            if m.user.email
        ]
        if self.contact_email and self.contact_email not in addresses:
            addresses.append(self.contact_email)
        return addresses

    # Decisions of the registry. Each one checks the state under a row lock, records who
    # decided what and why, and tells the organisation's admins once the change is saved.

    def approve(
        self,
        by,
        scopes: list[str],
        purposes: list[str],
        daily_quota: int,
        sms_name: str | None = None,
    ):
        """Approve, granting `scopes`, `purposes` and `daily_quota`, with `sms_name` as the
        name its SMS carry (None: the one it has, as it applied with it)."""
        if not purposes:
            raise DecisionRefused(_("Grant at least one purpose."))
        if daily_quota < 1:
            raise DecisionRefused(_("The daily quota must be at least 1."))
        sms_name = self.sms_name if sms_name is None else sms_name
        try:
            validate_sms_name(sms_name)
        except ValidationError as error:
            raise DecisionRefused(" ".join(error.messages)) from None
        refusal = self.sms_name_refusal(sms_name)
        if refusal:
            raise DecisionRefused(refusal)
        extra_scopes = Scope.only_beyond_status(scopes)
        return self._decide(
            OrganisationDecision.Action.APPROVE,
            by,
            changes={
                "scopes": extra_scopes,
                "purposes": [p.value for p in Purpose if p.value in purposes],
                "daily_quota": daily_quota,
                "sms_name": sms_name,
            },
        )

    def reject(self, by, reason: str):
        return self._decide(OrganisationDecision.Action.REJECT, by, reason=reason)

    def suspend(self, by, reason: str):
        return self._decide(OrganisationDecision.Action.SUSPEND, by, reason=reason)

    def reinstate(self, by, reason: str):
        return self._decide(OrganisationDecision.Action.REINSTATE, by, reason=reason)

    def _decide(self, action: str, by, reason: str = "", changes: dict | None = None):
        rule = OrganisationDecision.RULES[action]
        reason = reason.strip()
        if rule["needs_reason"] and not reason:
            raise DecisionRefused(_("Give a reason: the organisation is told it."))
        with transaction.atomic():
            locked = Organisation.objects.select_for_update().get(pk=self.pk)
            if locked.state not in rule["from"]:
                raise DecisionRefused(
                    _("%(name)s cannot be %(action)s: it is %(state)s.")
                    % {
                        "name": locked.name,
                        "action": OrganisationDecision.Action(action).past_tense,
                        "state": locked.get_state_display().lower(),
                    }
                )
            decision = OrganisationDecision(
                organisation=locked,
                action=action,
                from_state=locked.state,
                to_state=rule["to"],
                decided_by=by,
                reason=reason,
            )
            locked.state = rule["to"]
            for name, value in (changes or {}).items():
                setattr(locked, name, value)
                setattr(decision, name, value)
            locked.save(update_fields=["state", *(changes or {})])
            decision.save()
            transaction.on_commit(lambda: emails.send_decision(decision))
        self.refresh_from_db()
        return decision

    def invite(self, email: str, role: str, invited_by) -> "Membership | None":
        """Create (or reactivate) the account of a colleague at `email`. The account has no
        usable password until its owner sets one through the invitation link.

        None, and nothing changed, when the address is used by an account outside this
        organisation (another organisation's, a registry admin's; accounts_using): an
        account belongs to one organisation only. The caller answers both alike, so that an
        admin cannot learn which addresses have accounts elsewhere."""
        email = email.strip().lower()
        try:
            with transaction.atomic():
                users = list(accounts_using(email).select_for_update())
                ours = Membership.objects.filter(user__in=users, organisation=self).count()
                if ours != len(users):
                    return None
                user = next((u for u in users if u.username.lower() == email), None)
                if user is None:
                    user = users[0] if users else get_user_model()(username=email, email=email)
                user.set_unusable_password()
                user.is_active = True
                user.save()
                membership, _created = Membership.objects.update_or_create(
                    user=user,
                    defaults={"organisation": self, "role": role, "invited_by": invited_by},
                )
        except IntegrityError:
            return None  # an account was made for the address meanwhile, elsewhere
        return membership


class StartsOfDay(models.Model):
    """How many verifications an organisation started on one day (Indian Standard Time,
    TIME_ZONE): what its daily quota is checked against and what the API's RateLimit
    headers report. Written by Organisation.take_start in the start's own transaction."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="starts_of_days",
        verbose_name=_("organisation"),
    )
    day = models.DateField(_("day"))
    started = models.PositiveIntegerField(_("verifications started"), default=0)

    class Meta:
        verbose_name = _("starts of a day")
        verbose_name_plural = _("starts of days")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "day"], name="one_count_a_day")
        ]

    def __str__(self):
        return f"{self.organisation_id} {self.day}: {self.started}"


class Membership(models.Model):
    """A person's place in one organisation. A login belongs to exactly one organisation."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("Organisation admin")
        OPERATOR = "operator", _("Operator")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="membership",
        verbose_name=_("user"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The language of the screen the person last signed in from (a code of LANGUAGES), so
    # that news about their account reaches them in it; empty until they sign in.
    language = models.CharField(_("language"), max_length=8, blank=True, editable=False)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.organisation})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def needs_two_factor(self) -> bool:
        return self.is_admin or self.organisation.require_operator_two_factor

    @property
    def is_invited(self) -> bool:
        """Invited and not yet arrived: the account has no password yet."""
        return self.user.is_active and not self.user.has_usable_password()

    @classmethod
    def remember_language(cls, user, language: str) -> None:
        """Record `language` (a code of LANGUAGES) as the one `user` last signed in with."""
        if language in dict(settings.LANGUAGES):
            cls.objects.filter(user=user).exclude(language=language).update(language=language)

    def deactivate(self) -> None:
        """Stop the account at once, everywhere. An inactive user is refused by the
        authentication backend on every request, and the password is made unusable, which
        changes the session hash, so every open session ends too. Coming back needs a new
        invitation, or `reactivate` within minutes (the console's Undo).

        The password's hash is kept behind Django's unusable-password mark ("!" before it):
        `check_password` refuses it like any unusable password, and `reactivate` takes the
        mark off again."""
        user = self.user
        user.is_active = False
        if user.has_usable_password():
            user.password = UNUSABLE_PASSWORD_PREFIX + user.password
        else:
            user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])

    def reactivate(self) -> None:
        """Undo `deactivate`: the account works again, with the password it had. Sessions
        that were open before the deactivation match the password again and so work again:
        the console offers this only for minutes after the deactivation (providers/views/
        undo.py). Nothing happens to an active account."""
        user = self.user
        if user.is_active:
            return
        kept = user.password[len(UNUSABLE_PASSWORD_PREFIX) :]
        if user.password.startswith(UNUSABLE_PASSWORD_PREFIX) and is_password_usable(kept):
            user.password = kept
        user.is_active = True
        user.save(update_fields=["is_active", "password"])


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

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="api_keys",
        verbose_name=_("organisation"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    digest = models.CharField(_("key digest"), max_length=64, editable=False)
    scopes = ChoiceListField(
        _("scopes beyond status"),
        base_choices=Scope.beyond_status(),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
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

    def mark_used(self, now, every: timedelta) -> None:
        """Record a call made with this key at `now`, unless one was recorded less than
        `every` ago (a write per call would make a busy key a hot row)."""
        if self.last_used_at is None or now - self.last_used_at >= every:
            ApiKey.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def restore(self) -> None:
        """Undo `revoke`: calls with the key are accepted again. The console offers this
        only for minutes after the revocation (providers/views/undo.py)."""
        if self.revoked_at is not None:
            self.revoked_at = None
            self.save(update_fields=["revoked_at"])


class OrganisationDecision(models.Model):
    """The registry's record of a decision about an organisation: who, when, what and why."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        SUSPEND = "suspend", _("Suspended")
        REINSTATE = "reinstate", _("Reinstated")

        @property
        def past_tense(self) -> str:
            return str(self.label).lower()

    State = Organisation.State
    RULES = {
        Action.APPROVE: {"from": {State.PENDING}, "to": State.APPROVED, "needs_reason": False},
        Action.REJECT: {"from": {State.PENDING}, "to": State.REJECTED, "needs_reason": True},
        Action.SUSPEND: {"from": {State.APPROVED}, "to": State.SUSPENDED, "needs_reason": True},
        Action.REINSTATE: {
            "from": {State.SUSPENDED},
            "to": State.APPROVED,
            "needs_reason": True,
        },
    }

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="decisions",
        verbose_name=_("organisation"),
    )
    action = models.CharField(_("decision"), max_length=16, choices=Action.choices)
    from_state = models.CharField(_("from"), max_length=16, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=16, choices=State.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    scopes = ChoiceListField(
        _("scopes granted beyond status"),
        base_choices=Scope.beyond_status(),
    )
    purposes = ChoiceListField(_("purposes granted"), base_choices=Purpose.choices)
    daily_quota = models.PositiveIntegerField(_("daily quota"), null=True, blank=True)
    sms_name = models.CharField(_("name in SMS"), max_length=SMS_NAME_MAX_LENGTH, blank=True)
    decided_at = models.DateTimeField(_("decided"), default=timezone.now)

    class Meta:
        ordering = ["-decided_at"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")

    def __str__(self) -> str:
        return f"{self.organisation}: {self.get_action_display()}"


class PendingApplication(Organisation):
    """The review queue in the admin: organisations waiting for a decision."""

    class Meta:
        proxy = True
        verbose_name = _("pending application")
        verbose_name_plural = _("pending applications")


class BackupCodeDevice(ThrottlingMixin, Device):
    """Single-use codes for signing in when the authenticator app is not at hand.

    Only a keyed digest of each code is stored; a code is removed as it is used, inside a
    transaction with the row locked, so it works once even if sent twice at the same moment.
    """

    COUNT = 10
    digests = models.JSONField(_("code digests"), default=list, editable=False)

    class Meta:
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    @staticmethod
    def digest_of(code: str) -> str:
        normalised = "".join(code.split()).replace("-", "").lower()
        return salted_hmac("kyvs.providers.backupcode", normalised, algorithm="sha256").hexdigest()

    def generate_codes(self) -> list[str]:
        """Replace the codes with a fresh set; returns them, to be shown once."""
        alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
        codes = []
        for _i in range(self.COUNT):
            raw = "".join(secrets.choice(alphabet) for _j in range(10))
            codes.append(f"{raw[:5]}-{raw[5:]}")
        self.digests = [self.digest_of(code) for code in codes]
        # New codes start with a clean slate: wrong guesses at the old ones do not lock them.
        self.throttle_reset(commit=False)
        self.save()
        return codes

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token) -> bool:
        allowed, _reason = self.verify_is_allowed()
        if not allowed:
            return False
        digest = self.digest_of(str(token))
        with transaction.atomic():
            locked = BackupCodeDevice.objects.select_for_update().get(pk=self.pk)
            remaining = [d for d in locked.digests if not hmac.compare_digest(d, digest)]
            if len(remaining) == len(locked.digests):
                locked.throttle_increment()
                self.throttling_failure_count = locked.throttling_failure_count
                self.throttling_failure_timestamp = locked.throttling_failure_timestamp
                return False
            locked.digests = remaining
            locked.throttle_reset(commit=False)
            locked.save()
        self.digests = remaining
        self.throttle_reset(commit=False)
        return True

    @property
    def remaining(self) -> int:
        return len(self.digests)
