"""Drives the official `patreon` package (PyPI), unmodified, against a Maecenas server.

The package hard-codes https://www.patreon.com. Its requests are pointed at the server by
rewriting that origin where requests sends them (requests.Session.request), as a DNS override
would: the package's own files are not touched.

Input (environment): MAECENAS_BASE_URL, CLIENT_ID, CLIENT_SECRET, CODE, REDIRECT_URI.
Output (stdout): one JSON document {"tokens": ..., "refreshed": ...}.
"""
import json
import os

import requests

import patreon

BASE = os.environ["MAECENAS_BASE_URL"].rstrip("/")
_send = requests.Session.request


def _to_maecenas(self, method, url, *args, **kwargs):
    for origin in ("https://www.patreon.com", "https://api.patreon.com"):
        if url.startswith(origin):
            url = BASE + url[len(origin):]
    return _send(self, method, url, *args, **kwargs)


requests.Session.request = _to_maecenas

oauth = patreon.OAuth(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])
tokens = oauth.get_tokens(os.environ["CODE"], os.environ["REDIRECT_URI"])
refreshed = oauth.refresh_token(tokens["refresh_token"], os.environ["REDIRECT_URI"])
print(json.dumps({"tokens": tokens, "refreshed": refreshed}))
