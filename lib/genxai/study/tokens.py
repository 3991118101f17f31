"""Who may write what: signed participant tokens and the admin token.

A participant token is ``<participant id>.<HMAC-SHA256 of the id>`` under a secret kept in the study's
database, so tokens stay valid across server restarts and nobody can forge a token for another id.
The admin token (for export and the summary) is given when the server starts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

#: Participant ids: random, carrying no personal data.
PARTICIPANT_RE = re.compile(r"^p-[0-9a-f]{16}$")


def new_secret() -> str:
    return secrets.token_hex(32)


def new_participant_id() -> str:
    return f"p-{secrets.token_hex(8)}"


def new_admin_token() -> str:
    return secrets.token_urlsafe(24)


def _mac(participant: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), participant.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(participant: str, secret: str) -> str:
    if not PARTICIPANT_RE.match(participant):
        raise ValueError(f"not a participant id: {participant!r}")
    return f"{participant}.{_mac(participant, secret)}"


def verify(token: str, secret: str) -> str | None:
    """The participant id a token belongs to, or ``None`` if it is malformed or forged."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    participant, _, mac = token.partition(".")
    if not PARTICIPANT_RE.match(participant) or not mac:
        return None
    return participant if hmac.compare_digest(mac, _mac(participant, secret)) else None


def admin_ok(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
