"""Portal and operator tokens, and CSRF tokens: pure functions over a key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.pages.tokens import Grant, TokenError, csrf_matches, csrf_token, sign, verify

KEY = b"k" * 32
NOW = 1_800_000_000.0


def test_a_token_gives_back_its_grant_until_it_expires() -> None:
    grant = Grant("portal", "ep_one", NOW + 60)
    token = sign(KEY, grant)
    assert verify(KEY, token, scope="portal", now=NOW) == grant
    assert verify(KEY, token, scope="portal", now=NOW + 59.9) == grant
    with pytest.raises(TokenError, match="expired"):
        verify(KEY, token, scope="portal", now=NOW + 60)


def test_a_token_of_another_key_or_scope_is_refused() -> None:
    token = sign(KEY, Grant("portal", "ep_one", NOW + 60))
    with pytest.raises(TokenError, match="not valid"):
        verify(b"rotated" * 5, token, scope="portal", now=NOW)
    with pytest.raises(TokenError, match="not for the operator pages"):
        verify(KEY, token, scope="operator", now=NOW)


@given(st.integers(min_value=0, max_value=200), st.characters())
def test_any_changed_character_breaks_the_signature(position: int, replacement: str) -> None:
    token = sign(KEY, Grant("portal", "ep_one", NOW + 60))
    index = position % len(token)
    changed = token[:index] + replacement + token[index + 1 :]
    if changed == token:
        return
    with pytest.raises(TokenError):
        verify(KEY, changed, scope="portal", now=NOW)


@pytest.mark.parametrize("token", ["", "v1", "v1..", "v2.e30.e30", "v1.!!!.???", "v1.e30"])
def test_malformed_tokens_are_refused_with_a_typed_error(token: str) -> None:
    with pytest.raises(TokenError):
        verify(KEY, token, scope="portal", now=NOW)


def test_csrf_tokens_are_bound_to_their_session() -> None:
    one, two = sign(KEY, Grant("portal", "a", NOW)), sign(KEY, Grant("portal", "b", NOW))
    assert csrf_matches(KEY, one, csrf_token(KEY, one))
    assert not csrf_matches(KEY, one, csrf_token(KEY, two))
    assert not csrf_matches(KEY, one, "")
    assert not csrf_matches(b"other" * 8, one, csrf_token(KEY, one))
