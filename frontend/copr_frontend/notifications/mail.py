"""E-mail to the submitter of a build when it ends.  Never commits.

A build's end (the backend's ``copr.build.end`` of its last task, the message that makes
the ``build.ended`` event) records one :class:`EmailDelivery` to its submitter — only
where the frontend has an SMTP server (``smtp_host``), the build's project opted in
(``Project.email_notifications``) and so did the submitter (``User.email_notifications``,
with an address in ``User.mail``).  The message is composed then: what the build was
when it ended is what it says.

The backend's notification dispatcher asks for the due ones to be sent
(``POST /backend/send-mail/``) each round; the frontend sends them itself, because the
SMTP settings and password are its own.  The retry policy is the HTTP deliveries'
(:mod:`copr_frontend.notifications.logic`): a server that cannot be reached, refuses
the login or answers 4xx is tried again with exponential backoff until
``notification_max_attempts``; a 5xx answer to one message (a recipient the server
refuses) fails that message at once, as trying it again would fail alike.
"""

from __future__ import annotations

import math
import smtplib
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from copr_common.names import SRPM_BUILDS_DIR
from copr_frontend.builds.models import Build
from copr_frontend.db import now
from copr_frontend.notifications.events import TASK_ENDED, build_body
from copr_frontend.notifications.logic import prune_finished, retry_delay
from copr_frontend.notifications.models import DELIVERED, FAILED, PENDING, EmailDelivery
from copr_frontend.settings import FrontendSettings

MAX_ERROR = 2000
MAX_REASON = 2000
"""A fail reason longer than this is cut in the message (the build page has it all)."""
DEFAULT_BATCH = 20
MAX_BATCH = 1000
ROUND_SECONDS = 10.0
"""No new message is started once a round has sent this long: the backend's request
waits for the round (its ``frontend_timeout``, 30 s by default), and what is left stays
due for the next round."""


class MailError(Exception):
    """The SMTP server could not be used at all (connection, TLS, login); the message says
    what failed, with the server's answer.
    """


# --- composing ----------------------------------------------------------------------------


def recipient(build: Build) -> str | None:
    """Whom the end of ``build`` is mailed to: its submitter, if both opted in."""
    user = build.user
    if user is None or not user.email_notifications or not user.mail:
        return None
    return user.mail if build.project.email_notifications else None


def _reason(text: str | None) -> str:
    reason = (text or "").strip()
    return reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + " [...]"


def compose(build: Build, settings: FrontendSettings) -> tuple[str, str]:
    """The subject and the plain-text body of the mail about ``build``'s end."""
    body = build_body(build, settings)
    package = build.package_name or "an unknown package"
    version = f" {build.pkg_version}" if build.pkg_version else ""
    where = f"{build.project.ownername}/{build.dir.name}"
    state = build.state.label
    subject = f"Copr build {build.id} of {package} in {where}: {state}"
    lines = [
        f"Build {build.id} of {package}{version} in {where} ended: {state}.",
        "",
        f"Build page: {body['url']}",
        f"Results:    {body['repo_url']}",
        "",
        f"Source build ({SRPM_BUILDS_DIR}): {body['source_build']['state']}",
        f"  log: {body['source_build']['log_url']}",
    ]
    if build.fail_reason:
        lines.append(f"  fail reason: {_reason(build.fail_reason)}")
    for chroot, data in zip(build.chroots, body["chroots"], strict=True):
        lines += ["", f"{data['name']}: {data['state']}"]
        if data["result_url"]:
            lines.append(f"  results: {data['result_url']}")
        if data["log_url"]:
            lines.append(f"  log: {data['log_url']}")
        if chroot.fail_reason:
            lines.append(f"  fail reason: {_reason(chroot.fail_reason)}")
    lines += [
        "",
        "-- ",
        f"You get this e-mail because you submitted the build and asked for e-mail about "
        f"your builds, and {build.project.full_name} sends it.",
    ]
    return subject, "\n".join(lines) + "\n"


def record_build_mail(
    session: Session, settings: FrontendSettings, topic: str, build_id: int
) -> list[EmailDelivery]:
    """The mail a backend build message makes: one to the submitter when it tells of the
    end of a build's last task (none where either opt-in is missing, or no SMTP server is
    set).  A build already mailed to the recipient is not mailed again.
    """
    if settings.smtp_host is None or topic != TASK_ENDED:
        return []
    build = session.get(Build, build_id)
    if build is None or not build.state.is_finished:
        return []
    to = recipient(build)
    if to is None:
        return []
    exists = session.scalar(
        select(EmailDelivery.id).where(
            EmailDelivery.build_id == build.id, EmailDelivery.recipient == to
        )
    )
    if exists is not None:
        return []
    subject, text = compose(build, settings)
    mail = EmailDelivery(
        build_id=build.id,
        recipient=to,
        subject=subject,
        body=text,
        state=PENDING,
        next_attempt_on=now(),
    )
    session.add(mail)
    session.flush()
    return [mail]


def message(mail: EmailDelivery, settings: FrontendSettings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = mail.recipient
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(mail.created_on, localtime=False)
    msg["Message-ID"] = make_msgid(f"build-{mail.build_id}", settings.smtp_from.split("@")[-1])
    msg["Auto-Submitted"] = "auto-generated"  # no vacation replies, no loops
    msg["X-Copr-Build"] = str(mail.build_id)
    msg.set_content(mail.body)
    return msg


# --- sending ------------------------------------------------------------------------------


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _smtp_error(error: BaseException) -> str:
    """What the server said (its code and text), or what went wrong on the way to it."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = [
            f"{address}: {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        ]
        return "recipient refused: " + "; ".join(answers)
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: {error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def tls_context(settings: FrontendSettings) -> ssl.SSLContext:
    """Verifies the server's certificate and name, against ``smtp_ca_file`` if set."""
    ca_file = str(settings.smtp_ca_file) if settings.smtp_ca_file is not None else None
    return ssl.create_default_context(cafile=ca_file)


@contextmanager
def smtp_connection(settings: FrontendSettings) -> Iterator[smtplib.SMTP]:
    """A connection to the SMTP server, TLS and login done as the settings say; MailError
    when it cannot be had.
    """
    host, port, timeout = (
        settings.smtp_host or "",
        settings.smtp_effective_port,
        settings.smtp_timeout,
    )
    where = f"the SMTP server {host}:{port}"
    try:
        if settings.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=tls_context(settings)
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as error:
        raise MailError(f"cannot connect to {where}: {_smtp_error(error)}") from None
    try:
        try:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=tls_context(settings))
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"STARTTLS failed at {where}: {_smtp_error(error)}") from None
        if settings.smtp_user and settings.smtp_password is not None:
            try:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            except (OSError, smtplib.SMTPException) as error:
                raise MailError(
                    f"login as {settings.smtp_user} refused by {where}: {_smtp_error(error)}"
                ) from None
        yield smtp
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def due_mail(session: Session, limit: int, at: int | None = None) -> list[EmailDelivery]:
    """Pending mail whose next attempt is due, oldest first, locked until the transaction
    ends; rows another round holds are skipped, so two rounds at once (a request the
    backend gave up on and sent again) never send one mail twice.
    """
    query = (
        select(EmailDelivery)
        .where(
            EmailDelivery.state == PENDING,
            EmailDelivery.next_attempt_on <= (now() if at is None else at),
        )
        .order_by(EmailDelivery.next_attempt_on, EmailDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def record_mail_attempt(
    settings: FrontendSettings,
    mail: EmailDelivery,
    *,
    ok: bool,
    error: str | None = None,
    final: bool = False,
) -> None:
    """The outcome of one attempt: sent, due again later, or failed for good (``final``,
    or out of attempts).
    """
    exact = time.time()
    mail.attempts += 1
    mail.last_attempt_on = int(exact)
    if ok:
        mail.state = DELIVERED
        mail.delivered_on = int(exact)
        mail.next_attempt_on = None
        mail.last_error = None
        return
    mail.last_error = (error or "unknown error")[:MAX_ERROR]
    if final or mail.attempts >= settings.notification_max_attempts:
        mail.state = FAILED
        mail.next_attempt_on = None
    else:
        mail.next_attempt_on = math.ceil(exact + retry_delay(settings, mail.attempts))


def send_due_mail(
    session: Session, settings: FrontendSettings, limit: int = DEFAULT_BATCH
) -> dict[str, Any]:
    """Send the mail due now over one SMTP connection; the counts of what happened."""
    counts = {"sent": 0, "failed": 0, "retrying": 0}
    if settings.smtp_host is None:
        return counts
    due = due_mail(session, limit)
    if not due:
        return counts

    def fail(mail: EmailDelivery, error: str, *, final: bool = False) -> None:
        record_mail_attempt(settings, mail, ok=False, error=error, final=final)
        counts["failed" if mail.state == FAILED else "retrying"] += 1

    started = time.monotonic()
    try:
        with smtp_connection(settings) as smtp:
            for index, mail in enumerate(due):
                if time.monotonic() - started > ROUND_SECONDS:
                    del due[index:]  # the rest stay due, not attempted
                    break
                try:
                    smtp.send_message(message(mail, settings))
                except smtplib.SMTPRecipientsRefused as error:
                    permanent = all(code >= 500 for code, _ in error.recipients.values())
                    fail(mail, _smtp_error(error), final=permanent)
                except smtplib.SMTPResponseException as error:
                    fail(mail, _smtp_error(error), final=error.smtp_code >= 500)
                    if isinstance(error, smtplib.SMTPSenderRefused):
                        break  # the From: address is refused: so would the rest be
                except (OSError, smtplib.SMTPException) as error:
                    # The connection broke: this one is tried again, the rest stay due.
                    fail(mail, _smtp_error(error))
                    del due[index + 1 :]
                    break
                else:
                    record_mail_attempt(settings, mail, ok=True)
                    counts["sent"] += 1
    except MailError as error:
        # Raised before the first message: every one of them waits for the server.
        for mail in due:
            fail(mail, str(error))
    session.flush()
    return counts


def prune_mail(session: Session, days: int, at: int | None = None) -> int:
    """Forget finished mail older than ``days``; how many went."""
    return prune_finished(session, EmailDelivery, days, at)
