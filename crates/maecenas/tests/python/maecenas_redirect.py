"""Points the official `patreon` package at a Maecenas server without touching its files.

The package hard-codes https://www.patreon.com (and api.patreon.com in older versions). Its
requests are rewritten where requests sends them (requests.Session.request), as a DNS override
would. Importing this module installs the rewrite; MAECENAS_BASE_URL names the server.
"""
import os

import requests

BASE = os.environ["MAECENAS_BASE_URL"].rstrip("/")
ORIGINS = ("https://www.patreon.com", "https://api.patreon.com")
_send = requests.Session.request


def _to_maecenas(self, method, url, *args, **kwargs):
    for origin in ORIGINS:
        if url.startswith(origin):
            url = BASE + url[len(origin):]
    return _send(self, method, url, *args, **kwargs)


requests.Session.request = _to_maecenas
