from django.urls import path  # noqa: F401

app_name = "providers"

# Onboarding lives under /providers/, the organisation console under /console/.
urlpatterns: list = []
