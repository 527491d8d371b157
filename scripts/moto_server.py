"""moto's server with DynamoDB requests serialised, started by scripts/emulator.sh.

moto handles requests on threads, and its DynamoDB `UpdateItem` is a read-modify-write without a
lock: two concurrent `ADD`s on one item can lose one (seen in the store conformance case
`fairness_counters_exact_under_concurrency` on a busy machine). Real DynamoDB applies every
write to an item atomically, so the tests should see that behaviour. This runs the same app as
`moto_server` (same arguments: -H host, -p port) with one lock around each DynamoDB request
(`X-Amz-Target: DynamoDB_…`). Other services stay concurrent: an SQS long poll must not hold
everything up.
"""

import argparse
import signal
import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

DYNAMODB = threading.Lock()


class SerialDynamoDb:
    """WSGI middleware: one DynamoDB request at a time, everything else as it comes."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with DYNAMODB:
            # Consume the whole response inside the lock: the write happens while it is built.
            return list(self.app(environ, start_response))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True
    run_simple(
        args.host,
        args.port,
        SerialDynamoDb(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
