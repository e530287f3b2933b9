"""A webhook receiver for the smoke tests (smoke-lib.sh): answers every POST
with 204 and appends one JSON line per request to LOG_FILE (its path, its
`webhook-id` header, whether it is signed, its body). Listens on
127.0.0.1:PORT until it is killed.

Usage: python3 system-tests/lambda/receiver.py PORT LOG_FILE
"""

import http.server
import json
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the stdlib's name)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        with open(sys.argv[2], "a") as log:
            log.write(
                json.dumps(
                    {
                        "path": self.path,
                        "webhook-id": self.headers.get("webhook-id"),
                        "signed": bool(self.headers.get("webhook-signature")),
                        "body": body.decode("utf-8", "replace"),
                    }
                )
                + "\n"
            )
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
