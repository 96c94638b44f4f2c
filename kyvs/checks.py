"""System checks that `manage.py check --deploy` runs for a production server.

Django's own deploy checks cover transport security; these cover what KYVS itself needs to
be told about the deployment before citizens meet it:

- kyvs.W001: KYVS_SITE_URL is not an https:// address. The links in SMS (approve on my own
  phone, "Not you? Report it") are built from it, because an SMS leaves the request behind;
  a localhost or plain-HTTP link in a citizen's SMS is a broken or unsafe link.
- kyvs.W002: the privacy notice does not name the data fiduciary (KYVS_DATA_FIDUCIARY_NAME)
  or a grievance officer with a way to reach them (KYVS_GRIEVANCE_OFFICER_NAME and
  KYVS_GRIEVANCE_OFFICER_EMAIL or _PHONE). The Digital Personal Data Protection Act, 2023
  (sections 5 and 8(10)) and its Rules ask a data fiduciary to publish both.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def check_site_url(app_configs, **kwargs) -> list[Warning]:
    """kyvs.W001 when KYVS_SITE_URL is not an https:// address with a host."""
    parts = urlsplit(settings.KYVS_SITE_URL)
    if parts.scheme == "https" and parts.hostname and parts.hostname != "localhost":
        return []
    return [
        Warning(
            f"KYVS_SITE_URL is {settings.KYVS_SITE_URL!r}; the links in citizens' SMS are "
            "built from it.",
            hint="Set KYVS_SITE_URL to the portal's public https:// address.",
            id="kyvs.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_privacy_notice(app_configs, **kwargs) -> list[Warning]:
    """kyvs.W002 when the privacy notice would not name the data fiduciary, or a grievance
    officer with an e-mail address or telephone number."""
    missing = []
    if not settings.KYVS_DATA_FIDUCIARY_NAME:
        missing.append("KYVS_DATA_FIDUCIARY_NAME")
    if not settings.KYVS_GRIEVANCE_OFFICER_NAME:
        missing.append("KYVS_GRIEVANCE_OFFICER_NAME")
    if not (settings.KYVS_GRIEVANCE_OFFICER_EMAIL or settings.KYVS_GRIEVANCE_OFFICER_PHONE):
        missing.append("KYVS_GRIEVANCE_OFFICER_EMAIL or KYVS_GRIEVANCE_OFFICER_PHONE")
    if not missing:
        return []
    return [
        Warning(
            "The privacy notice (/privacy/) does not say who runs this deployment or how to "
            "reach its grievance officer: " + ", ".join(missing) + " unset.",
            hint="The Digital Personal Data Protection Act, 2023 asks the data fiduciary to "
            "publish both; set them.",
            id="kyvs.W002",
        )
    ]
