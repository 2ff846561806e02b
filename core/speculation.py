"""Speculation Rules: prerender a post when the reader hovers over or presses its link."""

import base64
import hashlib
import json

# "moderate" starts on hover (or pointer down on touch screens). Browsers that don't know
# speculation rules ignore the script; nothing else depends on it.
RULES = json.dumps(
    {"prerender": [{"where": {"href_matches": "/posts/*"}, "eagerness": "moderate"}]},
    separators=(",", ":"),
)

# The inline rules are fixed, so one hash lets a strict Content-Security-Policy allow them in
# `script-src` without a per-request nonce, which would stop pages from being cached.
_digest = hashlib.sha256(RULES.encode()).digest()
CSP_HASH = f"'sha256-{base64.b64encode(_digest).decode()}'"
