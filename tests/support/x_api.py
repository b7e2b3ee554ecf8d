"""X API v2 as the listening tests script it (tests/support/scripted_http.py, the client's
`X_API_URL` pointed at it): the paths the sources call, a fake app-only bearer token, and the
hand-written Northwind Air pages in tests/data/x_api."""

from __future__ import annotations

import json
from typing import Any

from tests.support.paths import DATA

API = "/2"  # X's paths; the host is whatever `X_API_URL` says
BRAND_ID = "1400000000000000001"  # @NorthwindAir
USER_URL = f"{API}/users/by/username/NorthwindAir"
MENTIONS_URL = f"{API}/users/{BRAND_ID}/mentions"
SEARCH_URL = f"{API}/tweets/search/recent"
BEARER = "AAAAAAAAAAAAAAAAAAAAAFakeL1sten1ngBearer%2BT0ken%3DNotARealSecretAbC987"


def x_body(name: str) -> dict[str, Any]:
    """A response body of tests/data/x_api/, by file name without `.json`."""
    return json.loads((DATA / "x_api" / f"{name}.json").read_text(encoding="utf-8"))
