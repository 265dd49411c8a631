"""Drives the official `patreon` package's API class (PyPI), unmodified, against Maecenas:
fetch the user, the campaign with its pledges, then page through every pledge with the
client's own cursor helper. maecenas_redirect points its requests at the server.

Input (environment): MAECENAS_BASE_URL, ACCESS_TOKEN. Output: one JSON document.
"""
import json
import os

import maecenas_redirect  # noqa: F401  (installs the redirect before the client is used)
import patreon

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
