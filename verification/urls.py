from django.urls import path

from verification import views

app_name = "verification"

urlpatterns = [
    path("", views.start, name="start"),
    path("<uuid:public_id>/", views.consent, name="consent"),
    path("<uuid:public_id>/resend/", views.resend, name="resend"),
    path("<uuid:public_id>/cancel/", views.cancel, name="cancel"),
    path("<uuid:public_id>/decline/", views.decline, name="decline"),
    path("state/<str:token>/", views.state, name="state"),
    path("<uuid:public_id>/state/", views.state_of_an_older_screen),
    path("<uuid:public_id>/result/", views.result, name="result"),
]
