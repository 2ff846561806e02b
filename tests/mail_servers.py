"""Mail peers for the sending tests: a real SMTP server, and Django's locmem backend with a hook."""

import socket
import threading

from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail.backends import locmem


class HookedBackend(locmem.EmailBackend):
    """The locmem backend, calling `before_send(messages_sent_so_far)` ahead of each message."""

    before_send = None

    def send_messages(self, messages):
        if HookedBackend.before_send is not None:
            HookedBackend.before_send(len(mail.outbox))
        return super().send_messages(messages)


class WorkerKilled(BaseException):
    """Stands for the worker process dying between two messages."""


class RecordingHandler:
    def __init__(self):
        self.lock = threading.Lock()
        self.received = []  # (recipient, raw message bytes)
        self.connections = set()
        self.replies = {}  # recipient -> list of replies to give to RCPT, in turn

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            pending = self.replies.get(address)
            reply = pending.pop(0) if pending else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.connections.add(session.peer)
            for recipient in envelope.rcpt_tos:
                self.received.append((recipient, envelope.content))
        return "250 Message accepted for delivery"

    def recipients(self):
        with self.lock:
            return [recipient for recipient, _ in self.received]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    def __init__(self):
        self.handler = RecordingHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
