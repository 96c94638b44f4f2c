"""Onboarding workflows that span several models and write e-mail.

Applying and inviting are answered alike whether or not the address given already has an
account: the applicant sees "application received", the inviting admin "invitation sent".
What differs goes by e-mail to the address, which only its owner reads: an address that has
an account gets a note that someone tried (and that nothing was created or changed) instead
of a confirmation or an invitation.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers import emails
from providers.models import Membership, Organisation, accounts_using


class DuplicateApplication(Exception):
    """Another application took the same name, registration number or e-mail meanwhile."""


def submit_application(
    *,
    name: str,
    sms_name: str,
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
) -> Organisation | None:
    """Create a pending organisation and its first admin, together or not at all, and
    confirm receipt by e-mail. The organisation may do nothing until a registry admin
    approves it and grants its scopes, purposes and quota.

    When `email` already has an account (accounts_using), nothing is created: the
    address's owner is told by e-mail that an application was tried with it, and None is
    returned, for the caller to answer as it does an application received. The password is
    hashed either way, so that both take the time of its hashing."""
    password_hash = make_password(password)
    if accounts_using(email).exists():
        emails.send_application_refused(email)
        return None
    User = get_user_model()
    try:
        with transaction.atomic():
            organisation = Organisation.objects.create(
                name=name,
                sms_name=sms_name,
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
            user = User.objects.create(
                username=User.normalize_username(email),
                email=email,
                password=password_hash,
                first_name=contact_name[:150],
            )
            Membership.objects.create(
                user=user, organisation=organisation, role=Membership.Role.ADMIN
            )
            transaction.on_commit(lambda: emails.send_application_received(organisation, user))
    except IntegrityError:
        raise DuplicateApplication() from None
    return organisation


def invite_colleague(
    organisation: Organisation, email: str, role: str, invited_by, site_url: str
) -> None:
    """Invite the person at `email` into `organisation` as `role` (Organisation.invite) and
    e-mail them the link; `site_url` is the portal's address as the admin reached it. When
    the address belongs to an account elsewhere, nothing changes and its owner is told that
    `organisation` tried to invite them. The admin is answered alike in both cases."""
    membership = organisation.invite(email, role, invited_by=invited_by)
    if membership is None:
        emails.send_invitation_refused(email, organisation, role)
    else:
        emails.send_invitation(membership, site_url)
