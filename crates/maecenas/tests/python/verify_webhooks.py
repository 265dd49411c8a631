"""Verifies webhook deliveries with the `standardwebhooks` package from PyPI,
an implementation independent of Maecenas. Reads a JSON list of
{"secret", "headers", "body"} on stdin; prints how many verified; exits
non-zero on the first one that does not."""

import json
import sys

from standardwebhooks.webhooks import Webhook

deliveries = json.load(sys.stdin)
for d in deliveries:
    Webhook(d["secret"]).verify(d["body"].encode("utf-8"), d["headers"])
    # A tampered body must not verify.
    try:
        Webhook(d["secret"]).verify((d["body"] + " ").encode("utf-8"), d["headers"])
    except Exception:
        pass
    else:
        sys.exit("a tampered body verified")
print(f"verified {len(deliveries)}")
