"""DKIM signing for mail relayed through a server that does not sign it (DKIM_* settings)."""

import smtplib
from functools import cached_property

import dkim
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address

# What a receiver checks; List-Unsubscribe and its -Post must be signed for RFC 8058 one-click.
SIGNED_HEADERS = [
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
    b"List-Id",
    b"List-Unsubscribe",
    b"List-Unsubscribe-Post",
]


def dkim_signature(message_bytes, *, private_key):
    """The DKIM-Signature header to put before the message's own headers."""
    present = {
        line.split(b":", 1)[0].lower()
        for line in message_bytes.split(b"\r\n\r\n", 1)[0].splitlines()
        if b":" in line
    }
    return dkim.sign(
        message_bytes,
        settings.DKIM_SELECTOR.encode(),
        settings.DKIM_DOMAIN.encode(),
        private_key,
        include_headers=[name for name in SIGNED_HEADERS if name.lower() in present],
    )


class DKIMSigningEmailBackend(EmailBackend):
    """Django's SMTP backend, signing each message with the key in DKIM_PRIVATE_KEY_FILE."""

    @cached_property
    def private_key(self):
        with open(settings.DKIM_PRIVATE_KEY_FILE, "rb") as key_file:
            return key_file.read()

    # Django's own _send() with one step added: sign the bytes it would send. Its public
    # send_messages() gives no other place to reach the finished message.
    def _send(self, email_message):
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in email_message.recipients()]
        message_bytes = email_message.message().as_bytes(linesep="\r\n")
        message_bytes = dkim_signature(message_bytes, private_key=self.private_key) + message_bytes
        try:
            self.connection.sendmail(from_email, recipients, message_bytes)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


@register(Tags.compatibility)
def check_dkim_key(app_configs, **kwargs):
    """A key named but unreadable would fail every send; say so at start-up instead."""
    if settings.EMAIL_BACKEND != "core.mail.DKIMSigningEmailBackend":
        return []
    try:
        with open(settings.DKIM_PRIVATE_KEY_FILE, "rb") as key_file:
            key = key_file.read()
    except OSError as error:
        problem = f"cannot be read: {error.strerror}"
    else:
        if b"PRIVATE KEY-----" in key:
            return []
        problem = "holds no PEM private key"
    return [
        Error(
            f"DKIM_PRIVATE_KEY_FILE {settings.DKIM_PRIVATE_KEY_FILE!r} {problem}.",
            hint="Point it at the PEM file of the key whose public half is in DNS.",
            id="core.E001",
        )
    ]
