"""Drives the official `patreon` package's API class (PyPI), unmodified, against Maecenas:
fetch the user, the campaign with its pledges, then page through every pledge with the
client's own cursor helper. Its requests are pointed at the server as in patreon_oauth.py.

Input (environment): MAECENAS_BASE_URL, ACCESS_TOKEN. Output: one JSON document.
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

api = patreon.API(os.environ["ACCESS_TOKEN"])
user = api.fetch_user()
campaign_doc = api.fetch_campaign_and_patrons()
campaign = campaign_doc.data()[0]
first_pledges = campaign.relationship("pledges")

pledge_ids = []
cursor = None
while True:
    page = api.fetch_page_of_pledges(campaign.id(), 25, cursor=cursor)
    pledge_ids.extend(pledge.id() for pledge in page.data())
    cursor = api.extract_cursor(page)
    if not cursor:
        break

print(json.dumps({
    "user_id": user.data().id(),
    "vanity": user.data().attribute("vanity"),
    "campaign_id": campaign.id(),
    "first_pledges": len(first_pledges),
    "pledge_ids": pledge_ids,
}))
