"""moto's server, with DynamoDB requests applied one at a time.

Real DynamoDB applies each write and each transaction atomically. moto's
threaded server does not: two transactions can interleave, and a canceled
one restores a snapshot of the whole table, erasing a concurrent write. The
service's guarantees (exact rate limits, one job per idempotency key) are
tested under concurrency, so this launcher serializes DynamoDB and DynamoDB
Streams calls. Everything else (SQS long polls, S3) stays concurrent.

Usage: python3 moto_server.py PORT
"""

import os
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serialized(environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with lock:
                # Produce the whole body inside the lock.
                return [b"".join(app(environ, start_response))]
        return app(environ, start_response)

    run_simple("127.0.0.1", port, serialized, threaded=True)


if __name__ == "__main__":
    main()
