from django.urls import path, re_path

from verification import api, embed_api, public_views

app_name = "api"

urlpatterns = [
    path("v3/vaccination/generateOTP", api.generate_otp, name="generate_otp"),
    path("v3/vaccination/confirmOTP", api.confirm_otp, name="confirm_otp"),
    path("v3/vaccination/resendOTP", api.resend_otp, name="resend_otp"),
    path("v3/vaccination/status", api.status, name="status"),
    path("v3/embed/sessions", embed_api.create_session, name="embed_sessions"),
    path(
        "v3/embed/sessions/<uuid:session_id>",
        embed_api.session_status,
        name="embed_session",
    ),
    path("v3/openapi.json", api.openapi, name="openapi"),
    path("docs/", public_views.api_docs, name="docs"),
    # Anything else under v3/ answers JSON, as API clients expect, never an HTML 404.
    re_path(r"^v3/", api.not_found),
]
