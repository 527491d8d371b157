"""A local SMTP sink for the email tests (started by scripts/smtp-sink.sh).

Listens on 127.0.0.1 (plain SMTP, no TLS) and saves every accepted message as one .eml file in
the mail directory: the message exactly as received, preceded by three header lines giving the
envelope (`X-Sink-Mail-From`, `X-Sink-Rcpt-To`, comma-separated) and the login used
(`X-Sink-Auth`, `-` without one). Files are written under a temporary name and renamed, so a
reader never sees a partial message. Names sort by arrival: `<unix ns>-<seq>.eml`.

Behaviours the tests use to reach the error paths:

- a recipient whose local part starts with `reject-` is refused with `550` (permanent);
- a recipient whose local part starts with `defer-` is refused with `451` (transient);
- AUTH PLAIN/LOGIN is offered without TLS; any user name with the password `sink-secret` is
  accepted, anything else gets `535`. Sending without AUTH is allowed too.

Usage: smtp_sink.py --port <port> --dir <mail dir> [--host 127.0.0.1]
"""

import argparse
import asyncio
import itertools
import os
import signal
import sys
import time

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

PASSWORD = b"sink-secret"
SEQ = itertools.count(1)


def authenticator(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD:
        return AuthResult(success=True, auth_data=auth_data)
    return AuthResult(success=False, handled=False)


class Sink:
    def __init__(self, directory):
        self.directory = directory

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject-"):
            return "550 5.1.1 Mailbox unavailable (smtp sink: reject-)"
        if local.startswith("defer-"):
            return "451 4.3.0 Try again later (smtp sink: defer-)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        login = "-"
        if session.auth_data is not None and isinstance(session.auth_data, LoginPassword):
            login = session.auth_data.login.decode("utf-8", "replace")
        head = (
            f"X-Sink-Mail-From: {envelope.mail_from}\r\n"
            f"X-Sink-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-Sink-Auth: {login}\r\n"
        ).encode("utf-8", "replace")
        content = envelope.original_content or b""
        name = f"{time.time_ns()}-{next(SEQ):06d}.eml"
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(head + content)
        os.replace(tmp, os.path.join(self.directory, name))
        return f"250 OK queued as {name}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    sink = Sink(args.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(
            sink,
            hostname="smtp-sink.localhost",
            data_size_limit=10 * 1024 * 1024,
            enable_SMTPUTF8=True,
            decode_data=False,
            authenticator=authenticator,
            auth_require_tls=False,
        )

    server = loop.run_until_complete(loop.create_server(factory, args.host, args.port))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print(f"smtp sink listening on {args.host}:{args.port}, saving to {args.dir}", file=sys.stderr, flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
