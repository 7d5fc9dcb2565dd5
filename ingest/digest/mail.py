"""E-mailing a digest over SMTP, from ``[digest]`` in the config.

The message is multipart/alternative: the Markdown digest as the plain-text part and the
self-contained HTML page as the HTML part. Credentials never live in the config file:
``username_env`` and ``password_env`` name environment variables that hold them.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ingest.config.settings import DigestSettings
from ingest.digest.render import clean_text, digest_summary
from ingest.model.digest import DigestData
from ingest.model.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)
SMTP_TIMEOUT_S = 30


def build_message(settings: DigestSettings, data: DigestData, html: str, text: str) -> EmailMessage:
    """The digest as an e-mail, dated when the digest was first written."""
    message = EmailMessage()
    message["Subject"] = clean_text(f"framewatch digest: {digest_summary(data)}", 200)
    message["From"] = settings.sender or ""
    message["To"] = ", ".join(settings.recipients)
    message["Date"] = format_datetime(data.written_at)
    message["Message-ID"] = make_msgid("digest")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _credential(name: str | None, env: Mapping[str, str]) -> str | None:
    if not name:
        return None
    value = env.get(name)
    if value is None:
        raise DeliveryError(f"environment variable {name} (digest credentials) is not set")
    return value


def check_mail_settings(settings: DigestSettings) -> None:
    """Refuse to try without a server, a sender and recipients."""
    for key in ("smtp_host", "sender"):
        if not getattr(settings, key):
            raise ConfigError(f"digest.{key} is not set (needed to e-mail the digest)")
    if not settings.recipients:
        raise ConfigError("digest.recipients is empty (needed to e-mail the digest)")


def send_message(
    settings: DigestSettings, message: EmailMessage, env: Mapping[str, str] | None = None
) -> None:
    """Deliver over SMTP (STARTTLS when configured, login when credentials are named)."""
    check_mail_settings(settings)
    env = os.environ if env is None else env
    username = _credential(settings.username_env, env)
    password = _credential(settings.password_env, env)
    host = settings.smtp_host or ""
    try:
        with smtplib.SMTP(host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if username is not None:
                smtp.login(username, password or "")
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"cannot e-mail the digest via {host}:{settings.smtp_port}: {exc}"
        ) from exc
    log.info("digest e-mailed to %d recipients", len(settings.recipients))
