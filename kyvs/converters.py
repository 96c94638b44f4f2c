"""URL path converters, registered in kyvs/urls.py (Django's register_converter)."""

import base64
import uuid


class CompactUuidConverter:
    """A UUID in 22 characters of URL-safe base64 (RFC 4648 section 5, without padding), for
    a link that must stay short: the approve link of an OTP SMS (verification/approve.py),
    where each path segment fits a DLT template variable (at most 30 characters,
    providers/sms_names.py) and the 36 characters of a UUID's usual form would not.

    Only the one spelling of each UUID is accepted (the last character carries 2 bits and 4
    zero bits): anything else does not match the path, which is a 404."""

    regex = "[A-Za-z0-9_-]{22}"

    def to_python(self, value: str) -> uuid.UUID:
        public_id = uuid.UUID(bytes=base64.urlsafe_b64decode(value + "=="))
        if self.to_url(public_id) != value:
            raise ValueError("not the canonical spelling of a UUID")
        return public_id

    def to_url(self, value: uuid.UUID | str) -> str:
        public_id = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
        return base64.urlsafe_b64encode(public_id.bytes).rstrip(b"=").decode()
