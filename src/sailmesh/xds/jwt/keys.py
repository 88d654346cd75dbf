"""Inline key sets as Envoy will take them: usable keys only, never an empty set.

Envoy rejects a whole listener update (NACK: the proxy keeps its old configuration) when a
provider's inline JWKS has no usable public key, so a bad ``jwks`` in one RequestAuthentication
must never reach it. In: the ``jwks`` text of a rule (a JWK Set, or a single JWK). Out: the
text itself when every key is usable
(:func:`~sailmesh.config.validation.security.jwks.key_problem`), else a set of its usable keys,
else :data:`NO_KEYS`: a set that verifies no token, so the issuer's tokens are refused (fail
closed) and nothing else of the proxy's configuration is affected. Validation reports such key
sets to the user.
"""

from __future__ import annotations

import json
from typing import Any

from sailmesh.config.validation.security.jwks import key_problem

#: A key set that verifies no token: one P-256 public key whose private key was discarded when
#: it was generated, so no one can sign with it (Envoy refuses an empty set).
NO_KEYS = json.dumps(
    {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "alg": "ES256",
                "kid": "sailmesh-no-key",
                "x": "IJZxyyuZyu4BMU-JOdNOdZNLdk8y5OKqvgrj6ffP8Bc",
                "y": "lvbZsH1_p-gTbDu4F8WYyKPkNxx73XLsf987cjmNWPM",
            }
        ]
    }
)


def usable_key_set(text: str) -> str:
    """``text`` when every key is usable, else a set of its usable keys, else :data:`NO_KEYS`."""
    keys, is_set = _keys(text)
    usable = [key for key in keys if key_problem(key) is None]
    if not usable:
        return NO_KEYS
    if is_set and len(usable) == len(keys):
        return text
    return json.dumps({"keys": usable})


def _keys(text: str) -> tuple[list[Any], bool]:
    """The keys of ``text`` and whether it is a set (``{"keys": [...]}``)."""
    try:
        data = json.loads(text)
    except ValueError:
        return [], False
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        return list(data["keys"]), True
    return ([data] if isinstance(data, dict) else []), False
