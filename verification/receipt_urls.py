from django.urls import path

from verification import public_views

app_name = "receipts"

urlpatterns = [
    path(".well-known/jwks.json", public_views.jwks, name="jwks"),
    path("receipts/verify/", public_views.verify_receipt, name="verify"),
    path("receipts/<uuid:verification_id>/", public_views.receipt_link, name="link"),
]
