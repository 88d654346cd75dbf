"""Inline key sets reach Envoy with usable keys only (xds/jwt/keys.py)."""

from __future__ import annotations

import json

from sailmesh.config.validation.security.jwks import key_problem
from sailmesh.xds.jwt.keys import NO_KEYS, usable_key_set

OCT = {"kty": "oct", "k": "c2VjcmV0"}
SHORT_RSA = {"kty": "RSA", "n": "abc", "e": "AQAB"}


def test_a_set_of_usable_keys_is_kept_as_written() -> None:
    text = json.dumps({"keys": [OCT]}, indent=2)
    assert usable_key_set(text) == text


def test_unusable_keys_are_left_out() -> None:
    assert json.loads(usable_key_set(json.dumps({"keys": [SHORT_RSA, OCT]}))) == {"keys": [OCT]}


def test_a_single_key_becomes_a_set() -> None:
    assert json.loads(usable_key_set(json.dumps(OCT))) == {"keys": [OCT]}


def test_nothing_usable_gives_the_no_key_set() -> None:
    for text in ("not json", '{"keys": []}', json.dumps({"keys": [SHORT_RSA]}), "[1]"):
        assert usable_key_set(text) == NO_KEYS


def test_the_no_key_set_is_itself_usable() -> None:
    (key,) = json.loads(NO_KEYS)["keys"]
    assert key_problem(key) is None
    assert usable_key_set(NO_KEYS) == NO_KEYS
