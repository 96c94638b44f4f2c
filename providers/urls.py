from django.urls import path

from providers.views import api_keys, apply, console, embed

app_name = "providers"

# Onboarding lives under /providers/, the organisation console under /console/.
urlpatterns = [
    path("providers/apply/", apply.apply, name="apply"),
    path("providers/apply/done/", apply.apply_done, name="apply_done"),
    path("console/", console.overview, name="console"),
    path("console/members/invite/", console.invite, name="invite"),
    path("console/members/<uuid:public_id>/role/", console.change_role, name="change_role"),
    path("console/members/<uuid:public_id>/deactivate/", console.deactivate, name="deactivate"),
    path("console/members/<uuid:public_id>/reactivate/", console.reactivate, name="reactivate"),
    path("console/security/", console.security, name="security"),
    path("console/history/", console.history, name="history"),
    path("console/history.csv", console.history_csv, name="history_csv"),
    path("console/api-keys/", api_keys.api_keys, name="api_keys"),
    path("console/embed/", embed.embed_origins, name="embed"),
    path(
        "console/api-keys/<uuid:public_id>/revoke/",
        api_keys.revoke_api_key,
        name="revoke_api_key",
    ),
    path(
        "console/api-keys/<uuid:public_id>/restore/",
        api_keys.restore_api_key,
        name="restore_api_key",
    ),
]
