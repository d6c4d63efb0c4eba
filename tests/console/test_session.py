"""Signed console cookies: round trip, expiry, purpose separation, and no forgery by editing."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from app.console.session import (
    PendingLogin,
    Signer,
    decode_pending,
    decode_session,
    encode_pending,
    encode_session,
    new_session,
)

SECRET = "k" * 40


def test_round_trip_and_expiry() -> None:
    signer = Signer(SECRET, "session")
    session = new_session("erin", ("acme/compliance",), 8, time.time())
    assert decode_session(signer, encode_session(signer, session)) == session
    expired = new_session("erin", ("acme/compliance",), 8, time.time() - 9 * 3600)
    assert decode_session(signer, encode_session(signer, expired)) is None


def test_a_cookie_of_one_purpose_or_key_is_not_another() -> None:
    session_signer, login_signer = Signer(SECRET, "session"), Signer(SECRET, "login")
    pending = PendingLogin("s" * 43, "/console/merges", time.time() + 600)
    cookie = encode_pending(login_signer, pending)
    assert decode_pending(login_signer, cookie) == pending
    assert decode_session(session_signer, cookie) is None
    assert decode_pending(Signer("other" * 8, "login"), cookie) is None


@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_changing_any_character_breaks_the_signature(position: int, replacement: str) -> None:
    signer = Signer(SECRET, "session")
    cookie = encode_session(signer, new_session("erin", ("acme/security",), 8, time.time()))
    index = position % len(cookie)
    if cookie[index] == replacement:
        return
    edited = cookie[:index] + replacement + cookie[index + 1 :]
    decoded = decode_session(signer, edited)
    # Base64 padding bits can absorb a change without changing the bytes; then it is the same.
    assert decoded is None or encode_session(signer, decoded) == cookie


@given(st.text(max_size=300))
def test_arbitrary_text_never_decodes(text: str) -> None:
    assert decode_session(Signer(SECRET, "session"), text) is None
