"""Onboarding workflows that span several models and write e-mail."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers import emails
from providers.models import Membership, Organisation


class DuplicateApplication(Exception):
    """Another application took the same name, registration number or e-mail meanwhile."""


def submit_application(
    *,
    name: str,
    kind: str,
    sector: str,
    registration_kind: str,
    registration_number: str,
    address: str,
    indian_state: str,
    website: str,
    purposes: list[str],
    scopes: list[str],
    scope_reasons: dict[str, str],
    contact_name: str,
    email: str,
    mobile: str,
    password: str,
) -> Organisation:
    """Create a pending organisation and its first admin, together or not at all, and
    confirm receipt by e-mail. The organisation may do nothing until a registry admin
    approves it and grants its scopes, purposes and quota."""
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(
                name=name,
                kind=kind,
                sector=sector,
                state=Organisation.State.PENDING,
                registration_kind=registration_kind,
                registration_number=registration_number,
                address=address,
                indian_state=indian_state,
                website=website,
                contact_name=contact_name,
                contact_email=email,
                contact_mobile=mobile,
                requested_purposes=purposes,
                requested_scopes=scopes,
                scope_reasons=scope_reasons,
                terms_accepted_at=timezone.now(),
                # Nothing is granted before the registry decides.
                scopes=[],
                purposes=[],
            )
            user = get_user_model().objects.create_user(
                username=email, email=email, password=password, first_name=contact_name[:150]
            )
            Membership.objects.create(
                user=user, organisation=organisation, role=Membership.Role.ADMIN
            )
            transaction.on_commit(lambda: emails.send_application_received(organisation, user))
    except IntegrityError:
        raise DuplicateApplication() from None
    return organisation
