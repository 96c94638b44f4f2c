from django.urls import path

from verification import citizen

app_name = "citizen"

urlpatterns = [
    path("", citizen.my_status, name="my_status"),
    path("code/", citizen.code, name="code"),
    path("code/resend/", citizen.resend, name="resend"),
    path("code/start-again/", citizen.start_again, name="start_again"),
    path("sign-out/", citizen.sign_out, name="sign_out"),
    path("history/", citizen.history, name="history"),
    path("lock/", citizen.lock, name="lock"),
    path("unlock/", citizen.unlock, name="unlock"),
    path("block/<uuid:organisation_id>/", citizen.block, name="block"),
    path("unblock/<uuid:organisation_id>/", citizen.unblock, name="unblock"),
    path("report/<uuid:public_id>/", citizen.report, name="report"),
    path("shares/", citizen.make_share, name="make_share"),
    path("shares/<uuid:public_id>/", citizen.share, name="share"),
    path("shares/<uuid:public_id>/delete/", citizen.delete_share, name="delete_share"),
]
