"""The embeddable page's addresses, under /embed/ (kyvs/framing.py: EMBED_PATH).

The frame's sign-in steps are the portal's own views (the sign-in form with its failure
limits, the second factor with its throttles), given the frame's templates and framing by
verification.embed.signing_in.
"""

from django.conf import settings
from django.urls import path

from providers.views import two_factor
from providers.views.login import LoginView
from verification import embed

app_name = "embed"

urlpatterns = [
    # An embed session made by the organisation's back end (verification/embed_api.py).
    path("s/<str:token>", embed.open_session, name="open"),
    path("session/<uuid:session_id>/", embed.session_start, name="session_start"),
    path("session/<uuid:session_id>/consent/", embed.session_consent, name="session_consent"),
    path("session/<uuid:session_id>/state/", embed.session_state, name="session_state"),
    path("session/<uuid:session_id>/resend/", embed.session_resend, name="session_resend"),
    path("session/<uuid:session_id>/cancel/", embed.session_cancel, name="session_cancel"),
    path("session/<uuid:session_id>/decline/", embed.session_decline, name="session_decline"),
    path("session/<uuid:session_id>/result/", embed.session_result, name="session_result"),
    # An operator's frame (no-code), pasted from the console.
    path("<uuid:organisation>/", embed.start, name="start"),
    path(
        "<uuid:organisation>/sign-in/",
        embed.signing_in(LoginView.as_view(template_name="embed/sign_in.html")),
        name="sign_in",
    ),
    path(
        "<uuid:organisation>/two-factor/",
        embed.signing_in(two_factor.verify),
        {"template_name": "embed/two_factor.html"},
        name="two_factor",
    ),
    path(
        "<uuid:organisation>/two-factor/setup/",
        embed.two_factor_setup,
        name="two_factor_setup",
    ),
    path("<uuid:organisation>/sign-out/", embed.sign_out, name="sign_out"),
    path("<uuid:organisation>/<uuid:public_id>/", embed.consent, name="consent"),
    path("<uuid:organisation>/<uuid:public_id>/state/", embed.state, name="state"),
    path("<uuid:organisation>/<uuid:public_id>/resend/", embed.resend, name="resend"),
    path("<uuid:organisation>/<uuid:public_id>/cancel/", embed.cancel, name="cancel"),
    path("<uuid:organisation>/<uuid:public_id>/decline/", embed.decline, name="decline"),
    path("<uuid:organisation>/<uuid:public_id>/result/", embed.result, name="result"),
]

if settings.DEBUG:
    from verification import embed_demo

    urlpatterns += [
        path("demo/", embed_demo.demo, name="demo"),
        path("demo/session/<uuid:session_id>", embed_demo.demo_session, name="demo_session"),
    ]
