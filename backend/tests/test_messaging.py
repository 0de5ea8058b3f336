"""Build messages on a real RabbitMQ, checked against the real copr-messaging schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pika
import pytest

from copr_backend.messaging import AmqpPublisher, build_message
from copr_common.enums import BuildSourceEnum, StatusEnum

sys.path.insert(0, str(Path(__file__).parent))

from backend_helpers import running_build_dispatcher, wait_for

UPSTREAM_PYTHON = Path(__file__).parents[2] / ".venv-upstream" / "bin" / "python"

VALIDATE = """
import json, sys
from fedora_messaging.message import get_class
for topic, body in json.load(sys.stdin):
    get_class(topic)(topic=topic, body=body).validate()
    print(topic, "ok")
"""


def _consume_all(url: str, queue: str) -> list[tuple[str, dict, dict]]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        messages = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return messages
            messages.append((method.routing_key, properties.headers, json.loads(body)))
    finally:
        connection.close()


@pytest.mark.slow
def test_build_messages(rabbitmq_server, factory, db_session, make_backend, make_srpm):
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=False, auto_delete=False).method.queue
    channel.queue_bind(queue, "amq.topic", "copr.#")
    connection.close()

    backend = make_backend(message_publisher="amqp", amqp_url=rabbitmq_server.url)
    project = factory.project(name="msgs")
    build = factory.build(
        project, source_type=BuildSourceEnum.link, source_json={"url": make_srpm("msgs")}
    )

    def done():
        db_session.expire_all()
        workers = backend.redis.smembers("copr:backend-build:workers")
        return build.source_status == StatusEnum.importing and not workers

    with running_build_dispatcher(backend):
        wait_for(done, 60, "the source build and its worker to end")
    messages = _consume_all(rabbitmq_server.url, queue)
    topics = [topic for topic, _, _ in messages]
    assert topics == ["copr.build.start", "copr.chroot.start", "copr.build.end"]
    end = messages[-1][2]
    assert end["status"] == int(StatusEnum.succeeded)
    assert (end["build"], end["owner"], end["copr"]) == (build.id, project.ownername, "msgs")
    assert end["chroot"] == "srpm-builds"
    assert all(headers["fedora_messaging_schema"] == t for t, headers, _ in messages)
    checked = subprocess.run(
        [str(UPSTREAM_PYTHON), "-c", VALIDATE],
        input=json.dumps([(t, body) for t, _, body in messages]),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count(" ok") == 3


def test_unreachable_bus_does_not_raise(caplog):
    task = {"build_id": 1, "project_owner": "a", "project_name": "p", "package_name": "x"}
    AmqpPublisher("amqp://guest:guest@127.0.0.1:9/%2F").publish(
        "copr.build.end", build_message(task, 1, "fedora-42-x86_64")
    )
    assert "cannot publish copr.build.end" in caplog.text
