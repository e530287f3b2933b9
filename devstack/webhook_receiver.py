"""A webhook receiver for the local stack that checks every signature.

    python3 devstack/webhook_receiver.py 9999 whsec_...   # the secret make dev prints
    DEV_WEBHOOK_URL=http://127.0.0.1:9999/hooks make dev

Verification per Standard Webhooks: HMAC-SHA256 over
"{webhook-id}.{webhook-timestamp}.{raw body}", keyed with the base64-decoded
secret after "whsec_", compared with each "v1,<base64>" in webhook-signature.
Receivers should also reject timestamps far from now (replays) and
deduplicate on webhook-id (deliveries are at least once).
"""

import base64
import hashlib
import hmac
import http.server
import json
import sys
import time


def verify(secret: str, msg_id: str, timestamp: str, body: bytes, signatures: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(sig.split(",", 1)[1], expected)
        for sig in signatures.split()
        if sig.startswith("v1,")
    )


def main() -> None:
    port, secret = int(sys.argv[1]), sys.argv[2]
    seen = set()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            msg_id = self.headers.get("webhook-id", "")
            ts = self.headers.get("webhook-timestamp", "0")
            ok = verify(secret, msg_id, ts, body, self.headers.get("webhook-signature", ""))
            fresh = abs(time.time() - int(ts)) < 300
            event = json.loads(body)
            dup = " (duplicate)" if msg_id in seen else ""
            seen.add(msg_id)
            print(f"{msg_id} signature={'valid' if ok else 'INVALID'} fresh={fresh}{dup}: "
                  f"job {event['jobId']} {event['status']} {event['resultUrls'] or event['error']}", flush=True)
            self.send_response(204 if ok and fresh else 400)
            self.end_headers()

        def log_message(self, *args):
            pass

    print(f"listening on http://127.0.0.1:{port}/hooks", flush=True)
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
