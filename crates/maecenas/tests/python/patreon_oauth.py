"""Drives the official `patreon` package's OAuth class (PyPI), unmodified, against Maecenas:
exchange a code, then refresh. maecenas_redirect points its requests at the server.

Input (environment): MAECENAS_BASE_URL, CLIENT_ID, CLIENT_SECRET, CODE, REDIRECT_URI.
Output (stdout): one JSON document {"tokens": ..., "refreshed": ...}.
"""
import json
import os

import maecenas_redirect  # noqa: F401  (installs the redirect before the client is used)
import patreon

oauth = patreon.OAuth(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])
tokens = oauth.get_tokens(os.environ["CODE"], os.environ["REDIRECT_URI"])
refreshed = oauth.refresh_token(tokens["refresh_token"], os.environ["REDIRECT_URI"])
print(json.dumps({"tokens": tokens, "refreshed": refreshed}))
