"""A small client for the JSON API in tests: JSON bodies, the X-Api-Key header, and the
community clients' way of sending the OTP (its SHA-256 in hex)."""

import hashlib
import json

from django.test import Client

from providers.models import ApiKey

BASE = "/api/v3/vaccination/"


def sha256(otp: str) -> str:
    return hashlib.sha256(otp.encode()).hexdigest()


def issue_key(organisation, scopes=None) -> str:
    return ApiKey.issue(organisation, "Booking system", scopes=scopes)[1]


class ApiClient:
    def __init__(self, key: str | None, client: Client | None = None):
        self.key = key
        self.client = client or Client(enforce_csrf_checks=True)

    def _headers(self, extra: dict | None = None) -> dict:
        headers = {"X-Api-Key": self.key} if self.key else {}
        headers.update(extra or {})
        return headers

    def post(self, endpoint: str, data=None, *, raw: bytes | str | None = None, headers=None):
        body = raw if raw is not None else json.dumps(data)
        return self.client.post(
            BASE + endpoint,
            body,
            content_type="application/json",
            headers=self._headers(headers),
        )

    def status(self, token: str | None):
        extra = {"Authorization": f"Bearer {token}"} if token is not None else {}
        return self.client.get(BASE + "status", headers=self._headers(extra))

    def generate(self, full_name: str, mobile: str, **more):
        return self.post("generateOTP", {"full_name": full_name, "mobile_number": mobile, **more})

    def confirm(self, txn_id: str, otp: str):
        return self.post("confirmOTP", {"txnId": txn_id, "otp": otp})
