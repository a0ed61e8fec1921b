"""A real SMTP server for the tests (Debian's python3-aiosmtpd) on a free
loopback port, keeping every message it accepts. Optionally refuses some
recipients, to test permanent and temporary failures."""
import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller

from conftest import free_port


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, options):
        code = self.sink.refuse.get(address.lower())
        if code:
            return code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content,
                                       policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append({
                "from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                "msg": msg, "raw": envelope.content})
        return "250 Message accepted"


class SmtpSink:
    def __init__(self):
        self.messages = []
        self.refuse = {}  # address -> "550 ..." / "451 ..."
        self.lock = threading.Lock()
        self.port = free_port()
        self.ctl = Controller(_Handler(self), hostname="127.0.0.1",
                              port=self.port)
        self.ctl.start()

    def stop(self):
        self.ctl.stop()

    def count(self):
        with self.lock:
            return len(self.messages)

    def to(self, addr):
        with self.lock:
            return [m for m in self.messages if addr in m["to"]]

    def wait_for(self, pred, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                got = [m for m in self.messages if pred(m)]
            if got:
                return got
            time.sleep(0.05)
        return []
