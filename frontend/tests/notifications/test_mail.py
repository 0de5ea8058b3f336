"""E-mail to a build's submitter when it ends, sent to a real SMTP server on loopback:
the message, the two opt-ins, once only, an outage ridden out, and what is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from copr_common.enums import StatusEnum
from copr_common.testing.smtp import SmtpServer
from copr_frontend.builds.models import Build
from copr_frontend.builds.states import set_chroot_status, set_source_status
from copr_frontend.notifications.models import EmailDelivery
from copr_frontend.projects.models import Project
from copr_frontend.settings import FrontendSettings
from copr_frontend.testing import Factory
from copr_frontend.users.models import User

CHROOTS = ["fedora-41-x86_64", "fedora-42-x86_64"]
FROM = "copr@copr.test"


def with_smtp(base: FrontendSettings, **changes: Any) -> FrontendSettings:
    return FrontendSettings.model_validate({**base.model_dump(), **changes})


@pytest.fixture
def settings(settings: FrontendSettings, smtp_server: SmtpServer) -> FrontendSettings:
    return with_smtp(
        settings,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        smtp_from=FROM,
        notification_retry_base=60.0,
    )


@pytest.fixture
def alice(factory: Factory, db_session: Session) -> User:
    user = factory.user("alice")
    user.mail = "alice@example.org"
    user.email_notifications = True
    db_session.commit()
    return user


@pytest.fixture
def project(factory: Factory, alice: User) -> Project:
    return factory.project(alice, "proj", chroots=CHROOTS, email_notifications=True)


def ended_build(session: Session, factory: Factory, project: Project, user: User | None) -> Build:
    """A build of ``hello`` 1.0-1 that succeeded in the first chroot and failed in the
    second, with the backend's fail reason."""
    build = factory.build(project, user=user, source_status=StatusEnum.running)
    build.pkg_name, build.pkg_version = "hello", "1.0-1"
    set_source_status(build, StatusEnum.succeeded)
    first, second = build.chroots
    set_chroot_status(first, StatusEnum.succeeded)
    second.fail_reason = "rpmbuild exited with 1: error: Bad exit status from %build"
    set_chroot_status(second, StatusEnum.failed)
    session.commit()
    return build


def report_end(client: flask.testing.FlaskClient, headers: dict[str, str], build: Build) -> Any:
    events = [{"topic": "copr.build.end", "build": build.id, "chroot": c} for c in CHROOTS]
    answer = client.post("/backend/notification-events/", json={"events": events},
                         headers=headers)  # fmt: skip
    assert answer.status_code == 200
    return answer.json


def send(client: flask.testing.FlaskClient, headers: dict[str, str]) -> Any:
    answer = client.post("/backend/send-mail/", json={}, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json


def mails(session: Session) -> list[EmailDelivery]:
    session.expire_all()
    return list(session.scalars(select(EmailDelivery).order_by(EmailDelivery.id)))


def test_the_submitter_gets_the_states_links_and_fail_reason(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
    smtp_server: SmtpServer,
) -> None:
    build = ended_build(db_session, factory, project, alice)
    assert report_end(client, backend_headers, build)["mails"] == 1
    # Reported again (a worker retried): still one mail.
    assert report_end(client, backend_headers, build)["mails"] == 0
    assert send(client, backend_headers) == {"sent": 1, "failed": 0, "retrying": 0}
    assert send(client, backend_headers) == {"sent": 0, "failed": 0, "retrying": 0}

    (message,) = smtp_server.messages
    assert smtp_server.envelopes == [(FROM, ["alice@example.org"])]
    assert message["To"] == "alice@example.org"
    assert message["From"] == FROM
    assert message["Subject"] == f"Copr build {build.id} of hello in alice/proj: failed"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_content()
    assert f"Build {build.id} of hello 1.0-1 in alice/proj ended: failed." in text
    assert f"Build page: http://copr.test/coprs/build/{build.id}" in text
    assert "Results:    http://results.test/results/alice/proj/" in text
    assert f"{CHROOTS[0]}: succeeded" in text
    assert f"{CHROOTS[1]}: failed" in text
    result_dir = f"http://results.test/results/alice/proj/{CHROOTS[1]}/{build.id:08d}-hello/"
    assert f"  results: {result_dir}" in text
    assert f"  log: {result_dir}builder-live.log.gz" in text
    assert "  fail reason: rpmbuild exited with 1: error: Bad exit status from %build" in text
    (mail,) = mails(db_session)
    assert (mail.state, mail.attempts, mail.last_error) == ("delivered", 1, None)
    assert mail.delivered_on is not None


def test_a_build_still_running_is_not_mailed(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
) -> None:
    build = factory.build(project, user=alice, source_status=StatusEnum.succeeded)
    set_chroot_status(build.chroots[0], StatusEnum.succeeded)
    db_session.commit()
    assert report_end(client, backend_headers, build)["mails"] == 0
    assert mails(db_session) == []


@pytest.mark.parametrize(("user_opts_in", "project_opts_in"), [(True, False), (False, True)])
def test_no_mail_without_both_opt_ins(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
    smtp_server: SmtpServer,
    user_opts_in: bool,
    project_opts_in: bool,
) -> None:
    alice.email_notifications = user_opts_in
    project.email_notifications = project_opts_in
    db_session.commit()
    build = ended_build(db_session, factory, project, alice)
    assert report_end(client, backend_headers, build)["mails"] == 0
    assert send(client, backend_headers)["sent"] == 0
    assert mails(db_session) == []
    assert smtp_server.messages == []


def test_no_mail_without_an_smtp_server_or_a_submitting_user(
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    settings: FrontendSettings,
    backend_headers: dict[str, str],
) -> None:
    from copr_frontend.app import create_app
    from copr_frontend.notifications.mail import record_build_mail

    build = ended_build(db_session, factory, project, alice)
    without = with_smtp(settings, smtp_host=None)
    assert record_build_mail(db_session, without, "copr.build.end", build.id) == []
    app = create_app(without)
    try:
        answer = app.test_client().post("/backend/send-mail/", json={}, headers=backend_headers)
        assert answer.json == {"sent": 0, "failed": 0, "retrying": 0}
    finally:
        app.extensions["copr_database"].dispose()
    webhook_build = ended_build(db_session, factory, project, None)
    webhook_build.user, webhook_build.submitted_by = None, "GitHub webhook"
    db_session.commit()
    assert record_build_mail(db_session, settings, "copr.build.end", webhook_build.id) == []
    assert mails(db_session) == []


def test_an_smtp_outage_is_retried_and_nothing_is_lost(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
    smtp_server: SmtpServer,
) -> None:
    build = ended_build(db_session, factory, project, alice)
    report_end(client, backend_headers, build)
    smtp_server.stop()
    assert send(client, backend_headers) == {"sent": 0, "failed": 0, "retrying": 1}
    (mail,) = mails(db_session)
    assert mail.state == "pending"
    assert mail.attempts == 1
    assert mail.last_error is not None
    assert f"cannot connect to the SMTP server 127.0.0.1:{smtp_server.port}" in mail.last_error
    assert mail.next_attempt_on is not None
    assert mail.last_attempt_on is not None
    assert mail.next_attempt_on >= mail.last_attempt_on + 60  # backing off
    # Not due yet: the server back changes nothing before the delay is over.
    smtp_server.start()
    assert send(client, backend_headers)["sent"] == 0
    db_session.execute(update(EmailDelivery).values(next_attempt_on=mail.last_attempt_on))
    db_session.commit()
    assert send(client, backend_headers) == {"sent": 1, "failed": 0, "retrying": 0}
    assert len(smtp_server.messages) == 1
    (mail,) = mails(db_session)
    assert (mail.state, mail.attempts, mail.last_error) == ("delivered", 2, None)


def test_a_refused_recipient_fails_at_once_with_the_servers_answer(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
    smtp_server: SmtpServer,
) -> None:
    smtp_server.refuse.add("alice@example.org")
    report_end(client, backend_headers, ended_build(db_session, factory, project, alice))
    assert send(client, backend_headers) == {"sent": 0, "failed": 1, "retrying": 0}
    (mail,) = mails(db_session)
    assert mail.state == "failed"
    assert mail.next_attempt_on is None
    assert mail.last_error == "recipient refused: alice@example.org: 550 5.1.1 no such mailbox here"
    assert smtp_server.messages == []


@pytest.fixture
def starttls_app(settings: FrontendSettings) -> Iterator[flask.Flask]:
    from copr_frontend.app import create_app

    app = create_app(with_smtp(settings, smtp_security="starttls"))
    yield app
    app.extensions["copr_database"].dispose()


def test_starttls_to_a_server_without_it_is_a_clear_error_and_retried(
    starttls_app: flask.Flask,
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
    smtp_server: SmtpServer,
) -> None:
    report_end(client, backend_headers, ended_build(db_session, factory, project, alice))
    assert send(starttls_app.test_client(), backend_headers)["retrying"] == 1
    (mail,) = mails(db_session)
    assert mail.state == "pending"
    assert mail.last_error is not None
    assert mail.last_error.startswith(
        f"STARTTLS failed at the SMTP server 127.0.0.1:{smtp_server.port}"
    )
    assert smtp_server.messages == []


def test_mail_runs_out_of_attempts(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    settings: FrontendSettings,
    backend_headers: dict[str, str],
    smtp_server: SmtpServer,
) -> None:
    report_end(client, backend_headers, ended_build(db_session, factory, project, alice))
    smtp_server.stop()
    for _ in range(settings.notification_max_attempts):
        db_session.execute(update(EmailDelivery).values(next_attempt_on=0))
        db_session.commit()
        send(client, backend_headers)
    (mail,) = mails(db_session)
    assert (mail.state, mail.attempts) == ("failed", settings.notification_max_attempts)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"smtp_from": ""}, "smtp_from"),
        ({"smtp_from": "copr at example"}, "is not an e-mail address"),
        ({"smtp_user": "copr"}, "smtp_user and smtp_password go together"),
        ({"smtp_password": "secret"}, "smtp_user and smtp_password go together"),
        (
            {"smtp_host": "mail.example.org", "smtp_user": "copr", "smtp_password": "pw"},
            "would send the SMTP password in clear to mail.example.org",
        ),
        ({"smtp_host": " "}, "smtp_host must name a host"),
        ({"smtp_security": "tls"}, "smtp_security"),
        ({"smtp_port": 0}, "smtp_port"),
        ({"smtp_ca_file": "/nonexistent/ca.pem"}, "/nonexistent/ca.pem is not a file"),
    ],
)
def test_bad_smtp_settings_are_refused_at_start(
    settings: FrontendSettings, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        with_smtp(settings, **changes)


def test_smtp_settings_defaults(settings: FrontendSettings) -> None:
    secure = with_smtp(
        settings,
        smtp_port=None,
        smtp_security="starttls",
        smtp_host="mail.example.org",
        smtp_user="copr",
        smtp_password="pw",
    )
    assert secure.smtp_effective_port == 587
    assert with_smtp(secure, smtp_security="ssl").smtp_effective_port == 465
    assert "pw" not in repr(secure)  # a secret: never in a log line
    assert with_smtp(settings, smtp_port=None).smtp_effective_port == 25


def test_old_finished_mail_is_pruned_and_pending_mail_stays(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    backend_headers: dict[str, str],
) -> None:
    from copr_frontend.notifications.mail import prune_mail

    report_end(client, backend_headers, ended_build(db_session, factory, project, alice))
    report_end(client, backend_headers, ended_build(db_session, factory, project, alice))
    send(client, backend_headers)
    first, second = mails(db_session)
    second.state = "pending"
    db_session.execute(update(EmailDelivery).values(created_on=0))
    db_session.commit()
    assert prune_mail(db_session, 30) == 1
    db_session.commit()
    assert [m.id for m in mails(db_session)] == [second.id]


def test_a_round_stops_at_its_time_budget_and_rounds_at_once_share_nothing(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    settings: FrontendSettings,
    backend_headers: dict[str, str],
    smtp_server: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from copr_frontend.db import Database
    from copr_frontend.notifications import mail as mail_module

    report_end(client, backend_headers, ended_build(db_session, factory, project, alice))
    monkeypatch.setattr(mail_module, "ROUND_SECONDS", -1.0)
    assert send(client, backend_headers) == {"sent": 0, "failed": 0, "retrying": 0}
    (waiting,) = mails(db_session)
    assert (waiting.state, waiting.attempts) == ("pending", 0)
    monkeypatch.undo()

    # A round in progress holds its mail: a second round at once skips it.
    other = Database(settings.database_url)
    holder = other.sessionmaker()
    try:
        assert [m.id for m in mail_module.due_mail(holder, 10)] == [waiting.id]
        assert send(client, backend_headers) == {"sent": 0, "failed": 0, "retrying": 0}
        holder.rollback()
        assert send(client, backend_headers)["sent"] == 1
    finally:
        holder.close()
        other.dispose()
    assert len(smtp_server.messages) == 1


@pytest.fixture
def certificate(tmp_path: Any) -> tuple[Any, Any]:
    from copr_common.testing.smtp import make_certificate

    return make_certificate(tmp_path)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_and_a_login(
    client: flask.testing.FlaskClient,
    db_session: Session,
    factory: Factory,
    project: Project,
    alice: User,
    settings: FrontendSettings,
    backend_headers: dict[str, str],
    certificate: tuple[Any, Any],
    security: str,
) -> None:
    from copr_frontend.app import create_app

    server = SmtpServer(tls=security, certificate=certificate, logins={"copr": "s3cret-pw"})
    server.start()
    try:
        report_end(client, backend_headers, ended_build(db_session, factory, project, alice))
        base = {"smtp_port": server.port, "smtp_security": security, "smtp_user": "copr"}
        attempts = [
            # The server's certificate is not one the system trusts.
            ({**base, "smtp_password": "s3cret-pw"}, "certificate verify failed"),
            ({**base, "smtp_password": "wrong", "smtp_ca_file": certificate[0]},
             "login as copr refused by the SMTP server"),
        ]  # fmt: skip
        for changes, error in attempts:
            app = create_app(with_smtp(settings, **changes))
            try:
                answer = app.test_client().post("/backend/send-mail/", json={},
                                                headers=backend_headers)  # fmt: skip
                assert answer.json == {"sent": 0, "failed": 0, "retrying": 1}
            finally:
                app.extensions["copr_database"].dispose()
            (mail,) = mails(db_session)
            assert mail.last_error is not None
            assert error in mail.last_error, mail.last_error
            db_session.execute(update(EmailDelivery).values(next_attempt_on=0))
            db_session.commit()
        good = {**base, "smtp_password": "s3cret-pw", "smtp_ca_file": certificate[0]}
        app = create_app(with_smtp(settings, **good))
        try:
            answer = app.test_client().post("/backend/send-mail/", json={},
                                            headers=backend_headers)  # fmt: skip
            assert answer.json == {"sent": 1, "failed": 0, "retrying": 0}
        finally:
            app.extensions["copr_database"].dispose()
        assert server.logged_in == ["copr"]
        (message,) = server.messages
        assert message["To"] == "alice@example.org"
        (mail,) = mails(db_session)
        assert (mail.state, mail.attempts) == ("delivered", 3)
    finally:
        server.stop()
