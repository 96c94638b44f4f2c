"""The OpenAPI 3.1 document of the JSON API, served at /api/v3/openapi.json.

Built from the same tables the API uses (error codes, purposes, scopes), and checked against
the implementation by schemathesis in tests/verification/test_api_schema.py.
"""

from django.utils import translation

from providers.models import Purpose
from verification.api_errors import ERRORS
from verification.embed_outcome import OUTCOMES

_ERROR = {"$ref": "#/components/schemas/Error"}
_UUID = {"type": "string", "format": "uuid"}


def _error(description: str, names: list[str], retry_after: bool = False) -> dict:
    codes = ", ".join(f"`{ERRORS[n].code}`" for n in names)
    response = {
        "description": f"{description} (errorCode {codes})",
        "content": {"application/json": {"schema": _ERROR}},
    }
    if retry_after:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 1},
            }
        }
    return response


_RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {
        "description": "The limit closest to biting: the key's starts per window "
        "(KYVS_STARTS_PER_ACTOR) or the organisation's daily quota "
        "(draft-ietf-httpapi-ratelimit-headers).",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Remaining": {
        "description": "Starts still allowed under that limit.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until everything counted under that limit has expired.",
        "schema": {"type": "integer", "minimum": 0},
    },
}


def _ok(schema: str, description: str) -> dict:
    return {
        "description": description,
        "headers": _RATE_LIMIT_HEADERS,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _body(schema: str) -> dict:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_AUTH = ["missing_api_key", "invalid_api_key"]
_BAD_BODY = ["bad_json", "invalid_field"]


def _operation(
    summary: str, description: str, responses: dict, *, more_401=(), more_403=(), **more
) -> dict:
    operation = {
        "summary": summary,
        "description": description,
        "responses": {
            # A store out of reach can stop any call; an operation may say more.
            "503": _error(
                "The service, or a store it needs, is out of reach",
                ["service_unavailable"],
                retry_after=True,
            ),
            **responses,
            "401": _error("Not authenticated, or the OTP failed", _AUTH + list(more_401)),
            "403": _error(
                "The organisation is not approved, or the request is refused",
                [
                    "organisation_not_approved",
                    "purpose_not_allowed",
                    "no_resends_left",
                    *more_403,
                ],
            ),
        },
    }
    operation.update(more)
    return operation


def openapi_document() -> dict:
    with translation.override("en"):
        return _document()


def _document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "KYVS API",
            "version": "3.0.0",
            "summary": "Know Your Vaccination Status: a customer's vaccination status, with "
            "their consent by OTP.",
            "description": (
                "Compatible with CoWIN's KYC-VS v3 API: existing clients work after changing "
                "the base URL and adding an `X-Api-Key` header. Every error is "
                '`{"errorCode", "error"}`; the codes are stable. Human-readable docs: '
                "/api/docs/."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"ApiKey": []}],
        "paths": {
            "/api/v3/vaccination/generateOTP": {
                "post": _operation(
                    "Start a verification and send the customer an OTP",
                    "Matches the name and mobile against the registry and sends an OTP by "
                    "SMS to the registered mobile. The answer is the same whether or not "
                    "anyone matched; with no match no SMS is sent and every OTP fails.",
                    {
                        "200": _ok("TxnResponse", "The verification has started."),
                        "400": _error("The body is not valid", _BAD_BODY),
                        "413": _error("The body is too large", ["body_too_large"]),
                        "429": _error(
                            "A rate limit or the daily quota refuses",
                            ["rate_limited", "quota_exceeded"],
                            retry_after=True,
                        ),
                        "503": _error(
                            "OTPs cannot be sent just now, or a store is out of reach",
                            ["unavailable", "service_unavailable"],
                            retry_after=True,
                        ),
                    },
                    operationId="generateOTP",
                    requestBody=_body("GenerateOTPRequest"),
                )
            },
            "/api/v3/vaccination/confirmOTP": {
                "post": _operation(
                    "Confirm the OTP the customer received",
                    "Send the SHA-256 (hex) of the 6-digit OTP, as CoWIN clients do, or the "
                    "OTP itself. Returns a short-lived token for the status endpoint.",
                    {
                        "200": _ok("TokenResponse", "The OTP is right."),
                        "400": _error("The body is not valid", _BAD_BODY),
                        "404": _error("Unknown txnId", ["unknown_txn"]),
                        "409": _error(
                            "The transaction is closed, or the customer declined",
                            ["txn_closed", "declined"],
                        ),
                        "413": _error("The body is too large", ["body_too_large"]),
                    },
                    more_401=["wrong_otp", "otp_expired", "too_many_attempts"],
                    operationId="confirmOTP",
                    requestBody=_body("ConfirmOTPRequest"),
                )
            },
            "/api/v3/vaccination/resendOTP": {
                "post": _operation(
                    "Send a new OTP for a pending verification",
                    "The earlier OTP stops working. Allowed after a short wait and a limited "
                    "number of times per verification.",
                    {
                        "200": _ok("TxnResponse", "A new OTP has been sent."),
                        "400": _error("The body is not valid", _BAD_BODY),
                        "404": _error("Unknown txnId", ["unknown_txn"]),
                        "409": _error(
                            "The transaction is closed, or the customer declined",
                            ["txn_closed", "declined"],
                        ),
                        "413": _error("The body is too large", ["body_too_large"]),
                        "429": _error(
                            "Too soon, or a rate limit refuses",
                            ["resend_too_soon", "rate_limited"],
                            retry_after=True,
                        ),
                        "503": _error(
                            "OTPs cannot be sent just now, or a store is out of reach",
                            ["unavailable", "service_unavailable"],
                            retry_after=True,
                        ),
                    },
                    operationId="resendOTP",
                    requestBody=_body("ResendOTPRequest"),
                )
            },
            "/api/v3/vaccination/status": {
                "get": _operation(
                    "The vaccination status behind a token from confirmOTP",
                    "Vaccination events and demographics are included only when the API key "
                    "holds those scopes. `receipt` is a JWS signed with a key published at "
                    "/.well-known/jwks.json.",
                    {"200": _ok("StatusResponse", "The customer's vaccination status.")},
                    operationId="status",
                    more_401=["missing_token", "invalid_token"],
                    security=[{"ApiKey": [], "Bearer": []}],
                )
            },
            "/api/v3/embed/sessions": {
                "post": _operation(
                    "Open a frame of the embeddable page for one verification",
                    "For a page of `origin` (one your organisation registered in the console) "
                    "to frame at the returned `url`, with no sign-in. The URL works once, for "
                    "5 minutes. With `full_name` and `mobile_number` the verification starts, "
                    "and the customer's OTP is sent, at once (answered the same whether or "
                    "not anyone matched); without them the frame shows the operator's form. "
                    "When the verification ends the frame posts a "
                    "`kyvs.verification.finished` message to that origin only.",
                    {
                        "201": _ok("EmbedSessionCreated", "The frame's URL."),
                        "400": _error("The body is not valid", _BAD_BODY),
                        "413": _error("The body is too large", ["body_too_large"]),
                        "429": _error(
                            "A rate limit or the daily quota refuses",
                            ["rate_limited", "quota_exceeded"],
                            retry_after=True,
                        ),
                        "503": _error(
                            "OTPs cannot be sent just now, or a store is out of reach",
                            ["unavailable", "service_unavailable"],
                            retry_after=True,
                        ),
                    },
                    more_403=["origin_not_registered"],
                    operationId="createEmbedSession",
                    requestBody=_body("EmbedSessionRequest"),
                )
            },
            "/api/v3/embed/sessions/{session_id}": {
                "get": _operation(
                    "How an embed session's verification ended",
                    "The same outcome, status and receipt the frame posts to its parent, for "
                    "the API key that made the session. `outcome` is null until the "
                    "verification ends; `vaccination_status` and `receipt` are given for a "
                    "verified outcome while its result is held (as long as the status "
                    "token of confirmOTP would live), then null.",
                    {
                        "200": _ok("EmbedSession", "The session and its outcome."),
                        "404": _error("No such session for this key", ["unknown_embed_session"]),
                    },
                    operationId="getEmbedSession",
                    parameters=[
                        {
                            "name": "session_id",
                            "in": "path",
                            "required": True,
                            "schema": _UUID,
                        }
                    ],
                )
            },
            "/.well-known/jwks.json": {
                "get": {
                    "summary": "The public keys that sign receipts",
                    "operationId": "jwks",
                    "security": [],
                    "responses": {"200": _ok("Jwks", "A JSON Web Key Set (RFC 7517).")},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "ApiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Api-Key",
                    "description": "A key created by your organisation admin in the console.",
                },
                "Bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token returned by confirmOTP.",
                },
            },
            "schemas": _schemas(),
        },
    }


def _schemas() -> dict:
    return {
        "Error": {
            "type": "object",
            "required": ["errorCode", "error"],
            "properties": {
                "errorCode": {"type": "string", "enum": [e.code for e in ERRORS.values()]},
                "error": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "GenerateOTPRequest": {
            "type": "object",
            "required": ["mobile_number", "full_name"],
            "properties": {
                "mobile_number": {
                    "type": "string",
                    "maxLength": 20,
                    "description": "The registered Indian mobile: 10 digits; +91, a leading "
                    "0, spaces and hyphens are accepted.",
                    "examples": ["9876543210"],
                },
                "full_name": {
                    "type": "string",
                    "maxLength": 100,
                    "description": "The full name as registered for vaccination.",
                    "examples": ["Asha Patel"],
                },
                "purpose": {
                    "type": "string",
                    "enum": list(Purpose.values),
                    "description": "Why you ask; defaults to your organisation's first "
                    "purpose. Must be one your organisation may state.",
                },
            },
        },
        "TxnResponse": {
            "type": "object",
            "required": ["txnId"],
            "properties": {"txnId": _UUID},
            "additionalProperties": False,
        },
        "ConfirmOTPRequest": {
            "type": "object",
            "required": ["otp", "txnId"],
            "properties": {
                "otp": {
                    "type": "string",
                    "pattern": "^([0-9]{6}|[0-9a-fA-F]{64})$",
                    "description": "sha256 hex of the 6-digit OTP, or the OTP.",
                },
                "txnId": _UUID,
            },
        },
        "TokenResponse": {
            "type": "object",
            "required": ["token"],
            "properties": {"token": {"type": "string"}},
            "additionalProperties": False,
        },
        "ResendOTPRequest": {
            "type": "object",
            "required": ["txnId"],
            "properties": {"txnId": _UUID},
        },
        "StatusResponse": {
            "type": "object",
            "required": [
                "vaccination_status",
                "status_text",
                "verification_id",
                "verified_at",
                "receipt",
            ],
            "properties": {
                "vaccination_status": {
                    "type": "integer",
                    "enum": [0, 1, 2],
                    "description": "0 not vaccinated, 1 partially, 2 fully vaccinated.",
                },
                "status_text": {"type": "string"},
                "verification_id": _UUID,
                "verified_at": {"type": "string", "format": "date-time"},
                "receipt": {"type": "string", "description": "Compact JWS (EdDSA, Ed25519)."},
                "vaccinations": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Dose"},
                    "description": "Only with the vaccinations scope.",
                },
                "beneficiary": {
                    "$ref": "#/components/schemas/Beneficiary",
                    "description": "Only with the demographics scope.",
                },
            },
            "additionalProperties": False,
        },
        "EmbedSessionRequest": {
            "type": "object",
            "required": ["origin", "purpose"],
            "properties": {
                "origin": {
                    "type": "string",
                    "description": "The origin of the page that will frame the URL "
                    "(https://host[:port]), one your organisation registered.",
                    "examples": ["https://booking.example.com"],
                },
                "purpose": {"type": "string", "enum": list(Purpose.values)},
                "full_name": {
                    "type": "string",
                    "maxLength": 100,
                    "description": "With mobile_number: start the verification at once.",
                },
                "mobile_number": {
                    "type": "string",
                    "maxLength": 20,
                    "description": "With full_name: the registered Indian mobile.",
                },
            },
        },
        "EmbedSessionCreated": {
            "type": "object",
            "required": ["session_id", "url", "expires_at"],
            "properties": {
                "session_id": _UUID,
                "url": {
                    "type": "string",
                    "format": "uri",
                    "description": "For the iframe's src; works once.",
                },
                "expires_at": {"type": "string", "format": "date-time"},
            },
            "additionalProperties": False,
        },
        "EmbedSession": {
            "type": "object",
            "required": [
                "session_id",
                "origin",
                "purpose",
                "expires_at",
                "opened_at",
                "txnId",
                "outcome",
                "vaccination_status",
                "receipt",
            ],
            "properties": {
                "session_id": _UUID,
                "origin": {"type": "string"},
                "purpose": {"type": "string", "enum": list(Purpose.values)},
                "expires_at": {"type": "string", "format": "date-time"},
                "opened_at": {"type": ["string", "null"], "format": "date-time"},
                "txnId": {**_UUID, "type": ["string", "null"]},
                "outcome": {
                    "type": ["string", "null"],
                    "enum": [*OUTCOMES.values(), None],
                    "description": "null until the verification ends.",
                },
                "vaccination_status": {"type": ["integer", "null"], "enum": [0, 1, 2, None]},
                "receipt": {
                    "type": ["string", "null"],
                    "description": "Compact JWS (EdDSA, Ed25519), for a verified outcome.",
                },
            },
            "additionalProperties": False,
        },
        "Dose": {
            "type": "object",
            "required": ["vaccine", "dose_number", "kind", "date"],
            "properties": {
                "vaccine": {"type": "string"},
                "dose_number": {"type": "integer", "minimum": 1},
                "kind": {"type": "string", "enum": ["primary", "precaution"]},
                "date": {"type": "string", "format": "date"},
                "centre": {"type": "string"},
                "district": {"type": "string"},
                "state": {"type": "string"},
            },
        },
        "Beneficiary": {
            "type": "object",
            "required": ["name", "birth_year", "gender"],
            "properties": {
                "name": {"type": "string"},
                "birth_year": {"type": "integer"},
                "gender": {"type": "string", "enum": ["M", "F", "O"]},
            },
        },
        "Jwks": {
            "type": "object",
            "required": ["keys"],
            "properties": {
                "keys": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["kty", "crv", "x", "kid"],
                        "properties": {
                            "kty": {"const": "OKP"},
                            "crv": {"const": "Ed25519"},
                            "x": {"type": "string"},
                            "kid": {"type": "string"},
                            "use": {"const": "sig"},
                            "alg": {"const": "EdDSA"},
                        },
                    },
                }
            },
        },
    }
