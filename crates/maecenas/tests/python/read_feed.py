"""Reads an Atom feed with feedparser, as a feed reader would, and prints
what it understood as JSON: the HTTP status, whether the document was well
formed, the feed's title and links, and each entry's title, link, dates,
content and the pictures its content names."""

import json
import re
import sys

import feedparser

parsed = feedparser.parse(sys.argv[1])
entries = []
for entry in parsed.entries:
    content = entry.get("content") or [{}]
    html = content[0].get("value", "")
    entries.append(
        {
            "title": entry.get("title"),
            "link": entry.get("link"),
            "id": entry.get("id"),
            "published": entry.get("published"),
            "updated": entry.get("updated"),
            "author": entry.get("author"),
            "content_type": content[0].get("type"),
            "content": html,
            "images": re.findall(r'<img[^>]* src="([^"]+)"', html),
        }
    )
print(
    json.dumps(
        {
            "status": parsed.get("status"),
            "bozo": bool(parsed.bozo),
            "bozo_exception": str(parsed.get("bozo_exception", "")),
            "version": parsed.get("version"),
            "title": parsed.feed.get("title"),
            "links": [link.get("href") for link in parsed.feed.get("links", [])],
            "entries": entries,
        }
    )
)
