"""Tracking webhook posts shaped as the providers' documentation shows them, signed as they sign
them, for the newsletter's webhook tests."""

import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime

MAILGUN_SIGNING_KEY = "key-mailgun-webhook-signing-test"
WEBHOOK_SECRET = "anymail:webhook-password-test"


def mailgun(event, recipient, message_id, *, at=None, signing_key=MAILGUN_SIGNING_KEY, **data):
    """A Mailgun webhook ("event-data" as in Mailgun's webhook docs), signed with HMAC-SHA256 of
    the timestamp and token, under the webhook signing key."""
    at = at or datetime.now(UTC)
    timestamp, token = str(int(at.timestamp())), secrets.token_hex(25)
    signature = hmac.new(
        signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    event_data = {
        "event": event,
        "id": secrets.token_urlsafe(16),
        "timestamp": at.timestamp(),
        "log-level": "error" if event == "failed" else "info",
        "envelope": {
            "sender": "newsletter@mg.example.com",
            "transport": "smtp",
            "targets": recipient,
        },
        "flags": {"is-authenticated": True, "is-test-mode": False},
        "message": {
            "headers": {
                "to": recipient,
                # Mailgun leaves the angle brackets out; anymail puts them back.
                "message-id": message_id.strip("<>"),
                "from": "Blog <newsletter@mg.example.com>",
                "subject": "A new post",
            },
            "attachments": [],
            "size": 4213,
        },
        "recipient": recipient,
        "recipient-domain": recipient.partition("@")[2],
        "campaigns": [],
        "tags": ["newsletter"],
        "user-variables": {},
        **data,
    }
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event_data,
    }


def mailgun_permanent_failure(recipient, message_id, **fields):
    return mailgun(
        "failed",
        recipient,
        message_id,
        severity="permanent",
        reason="bounce",
        **{
            "delivery-status": {
                "attempt-no": 1,
                "code": 550,
                "message": "550 5.1.1 The email account that you tried to reach does not exist.",
                "description": "",
                "session-seconds": 1.2,
            }
        },
        **fields,
    )


def mailgun_temporary_failure(recipient, message_id, **fields):
    return mailgun(
        "failed",
        recipient,
        message_id,
        severity="temporary",
        reason="generic",
        **{
            "delivery-status": {
                "attempt-no": 1,
                "code": 452,
                "message": "452 4.2.2 The email account that you tried to reach is over quota.",
                "description": "",
                "retry-seconds": 600,
            }
        },
        **fields,
    )


def postmark_bounce(recipient, message_id, *, bounce_type="HardBounce", at=None):
    """Postmark's bounce webhook; Type is HardBounce, SoftBounce, Transient, SpamNotification..."""
    names = {"HardBounce": ("Hard bounce", 1), "SoftBounce": ("Soft bounce/Undeliverable", 4096)}
    name, code = names.get(bounce_type, (bounce_type, 0))
    return {
        "RecordType": "Bounce",
        "MessageStream": "broadcast",
        "ID": secrets.randbits(40),
        "Type": bounce_type,
        "TypeCode": code,
        "Name": name,
        "Tag": "newsletter",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, "
        "mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": recipient,
        "From": "newsletter@example.com",
        "BouncedAt": _iso(at),
        "DumpAvailable": True,
        "Inactive": bounce_type == "HardBounce",
        "CanActivate": True,
        "Subject": "A new post",
    }


def postmark_spam_complaint(recipient, message_id, *, at=None):
    return {
        "RecordType": "SpamComplaint",
        "MessageStream": "broadcast",
        "ID": secrets.randbits(40),
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "Name": "Spam complaint",
        "Tag": "newsletter",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "",
        "Details": "Test spam complaint details",
        "Email": recipient,
        "From": "newsletter@example.com",
        "BouncedAt": _iso(at),
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": False,
        "Subject": "A new post",
    }


def postmark_unsubscribe(recipient, message_id, *, at=None):
    """Postmark's subscription change webhook for a recipient who used Postmark's unsubscribe
    link (a "ManualSuppression" they made themselves)."""
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": message_id,
        "ServerID": 23,
        "MessageStream": "broadcast",
        "ChangedAt": _iso(at),
        "Recipient": recipient,
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": "ManualSuppression",
        "Tag": "newsletter",
        "Metadata": {},
    }


def postmark_delivery(recipient, message_id, *, at=None):
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "broadcast",
        "MessageID": message_id,
        "Recipient": recipient,
        "Tag": "newsletter",
        "DeliveredAt": _iso(at),
        "Details": "smtp;250 2.0.0 OK",
        "Metadata": {},
    }


def sendgrid_bounce(recipient, message_id, *, bounce_type="bounce"):
    """SendGrid's event webhook posts a list; a bounce's type is "bounce" or "blocked"."""
    return [
        {
            "email": recipient,
            "timestamp": int(datetime.now(UTC).timestamp()),
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "event": "bounce",
            "category": ["newsletter"],
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "reason": "500 unknown recipient"
            if bounce_type == "bounce"
            else "421 4.7.0 Try again later",
            "status": "5.0.0" if bounce_type == "bounce" else "4.0.0",
            "type": bounce_type,
            # anymail's SendGrid backend adds its message id as this custom argument.
            "anymail_id": message_id,
        }
    ]


def brevo_bounce(recipient, message_id, *, event="hard_bounce"):
    at = datetime.now(UTC)
    return {
        "event": event,
        "email": recipient,
        "id": 123456,
        "date": at.strftime("%Y-%m-%d %H:%M:%S"),
        "ts": int(at.timestamp()),
        "message-id": message_id,
        "ts_event": int(at.timestamp()),
        "subject": "A new post",
        "tag": "newsletter",
        "sending_ip": "185.41.28.109",
        "ts_epoch": int(at.timestamp() * 1000),
        "reason": "550 5.1.1 User unknown" if event == "hard_bounce" else "452 Mailbox full",
        "tags": ["newsletter"],
    }


def amazon_ses_bounce(recipient, message_id, *, bounce_type="Permanent"):
    """An SNS notification carrying an SES bounce; returns the body and the SNS headers."""
    sub_types = {"Permanent": "General", "Transient": "MailboxFull", "Undetermined": "Undetermined"}
    at = _iso(None)
    ses_event = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_types[bounce_type],
            "bouncedRecipients": [
                {
                    "emailAddress": recipient,
                    "action": "failed",
                    "status": "5.1.1" if bounce_type == "Permanent" else "4.2.2",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": at,
            "feedbackId": "0100017f-bounce-feedback",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": {
            "timestamp": at,
            "source": "newsletter@example.com",
            "messageId": message_id,
            "destination": [recipient],
            "headersTruncated": False,
            "headers": [],
        },
    }
    sns_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"
    body = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-tracking",
        "Message": json.dumps(ses_event),
        "Timestamp": at,
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    headers = {"x-amz-sns-message-type": "Notification", "x-amz-sns-message-id": sns_id}
    return body, headers


def _iso(at):
    return (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")
