"""How an embed session's verification ended, as its organisation is told it.

One message, built here, is posted by the frame to the page that framed it
(`window.parent.postMessage`, static/js/embed.js) and answered by
`GET /api/v3/embed/sessions/<session_id>` (verification/embed_api.py), so the back end never
has to trust the browser and both say the same thing:

    {"type": "kyvs.verification.finished", "session_id", "txnId",
     "outcome": "verified" | "failed" | "cancelled" | "declined",
     "vaccination_status": 0 | 1 | 2 | null, "receipt": "<JWS>" | null}

Status and receipt are given only for a verified outcome, while its result is held
(`back_end_results`); the receipt is the same signed JWS the other channels hand out.
"""

from django.conf import settings

from verification.handoff import CacheStore, ResultHandOff
from verification.models import EmbedSession, Verification
from verification.services import Result

MESSAGE_TYPE = "kyvs.verification.finished"

# How a verification ended → the outcome named to the organisation. A new ending (a citizen
# who declines) is one more line here.
OUTCOMES = {
    Verification.State.VERIFIED: "verified",
    Verification.State.FAILED: "failed",
    Verification.State.CANCELLED: "cancelled",
    Verification.State.DECLINED: "declined",
}


def back_end_results() -> ResultHandOff:
    """A confirmed result of an embed session waits in the shared cache for the
    organisation's back end for KYVS_API_TOKEN_TTL_SECONDS, as the API's own results do
    behind their status token; it may be fetched again in that time, then it is gone."""
    return ResultHandOff(CacheStore(), settings.KYVS_API_TOKEN_TTL_SECONDS)


def outcome_of(verification: Verification | None) -> str | None:
    """The outcome of `verification`, or None while it has not ended (or never started)."""
    return OUTCOMES.get(verification.state) if verification is not None else None


def finished_message(session: EmbedSession, result: Result | None) -> dict | None:
    """The message for `session`'s ended verification, with the status and receipt of
    `result` (the confirmed result of that verification) when it was verified; None while it
    has not ended."""
    verification = session.verification
    outcome = outcome_of(verification)
    if outcome is None:
        return None
    shown = result if outcome == OUTCOMES[Verification.State.VERIFIED] else None
    if shown is not None and shown.verification_id != str(verification.public_id):
        raise ValueError("the result is of another verification")
    return {
        "type": MESSAGE_TYPE,
        "session_id": str(session.public_id),
        "txnId": str(verification.public_id),
        "outcome": outcome,
        "vaccination_status": shown.vaccination_status if shown else None,
        "receipt": shown.receipt if shown else None,
    }
