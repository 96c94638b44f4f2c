from django.contrib import admin
from django.urls import include, path, register_converter

from kyvs.converters import CompactUuidConverter
from kyvs.health import healthz
from kyvs.views import favicon, home, privacy_notice
from verification import approve, shares

register_converter(CompactUuidConverter, "compact_uuid")

urlpatterns = [
    path("", home, name="home"),
    path("my-status/", include("verification.citizen_urls")),
    # Approve on my own phone: the link in the OTP SMS (verification/approve.py); a link
    # of the earlier shape, without the public id, says it no longer works.
    path("c/<compact_uuid:public_id>/<str:token>", approve.approve, name="approve"),
    path("c/<str:token>", approve.spent_link, name="approve_spent"),
    path("privacy/", privacy_notice, name="privacy"),
    # A citizen's share card: public, cookie-free (verification/shares.py).
    path("s/<str:token>/", shares.share_page, name="share_page"),
    *(
        path(f"s/<str:token>/card-{size}.png", shares.share_image, {"size": size}, name=name)
        for size, name in (("1200x630", "share_image_wide"), ("1080x1080", "share_image_square"))
    ),
    path("accounts/", include("providers.account_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("verify/", include("verification.urls")),
    # The embeddable page (kyvs/framing.py: the only pages that may be framed).
    path("embed/", include("verification.embed_urls")),
    path("api/", include("verification.api_urls")),
    path("", include("verification.receipt_urls")),
    path("", include("providers.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
]

handler500 = "kyvs.views.server_error"
