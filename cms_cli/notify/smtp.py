"""The SMTP relay of ``CMS_SMTP_URL``: one logged-in connection (delivery, cms doctor)."""

from __future__ import annotations

import smtplib
import ssl
from urllib.parse import parse_qs, unquote, urlsplit


def connect(url: str, timeout: float) -> smtplib.SMTP:
    """An SMTP connection for ``smtp://``, ``smtps://`` or ``?starttls=1``, logged in."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"CMS_SMTP_URL must start with smtp:// or smtps://, not {parts.scheme}://")
    host = parts.hostname or "localhost"
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=timeout)
        if starttls:
            client.starttls(context=ssl.create_default_context())
    client.ehlo_or_helo_if_needed()
    if parts.username:
        client.login(unquote(parts.username), unquote(parts.password or ""))
    return client
