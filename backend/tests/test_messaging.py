"""Build messages through fedora-messaging on a real RabbitMQ, read back by the real
copr-messaging schemas (in .venv-upstream, where PyPI's copr-messaging is installed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pika
import pytest
import tomli_w

from copr_backend.messages import BuildEnded, message_class
from copr_backend.messaging import build_message
from copr_backend.testing.helpers import running_build_dispatcher, wait_for
from copr_common.enums import BuildSourceEnum, StatusEnum
from copr_common.settings import EXIT_CONFIG

UPSTREAM_PYTHON = Path(__file__).parents[2] / ".venv-upstream" / "bin" / "python"
BIN = Path(sys.executable).parent
PREFIX = "org.copr.test"

# What a consumer does with a message it received: fedora-messaging picks the class by the
# schema header (copr-messaging's, there) and checks headers and body against it.
READ_AS_CONSUMER = """
import json, sys
import pika
from fedora_messaging.message import get_message
for routing_key, properties, body in json.load(sys.stdin):
    message = get_message(routing_key, pika.BasicProperties(**properties), body.encode())
    print(json.dumps({
        "class": type(message).__module__ + "." + type(message).__name__,
        "topic": message.topic,
        "status": message.status if hasattr(message, "status") else None,
        "build_id": message.build_id,
        "project": message.project_owner + "/" + message.project_name,
        "chroot": message.chroot,
        "package": message.package_name,
    }))
"""


@pytest.mark.slow
def test_build_messages(rabbitmq_server, factory, db_session, make_backend, make_srpm, tmp_path):
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    queue = channel.queue_declare("", exclusive=False, auto_delete=False).method.queue
    channel.queue_bind(queue, "amq.topic", f"{PREFIX}.copr.#")
    connection.close()

    # The broker and the prefix come from a fedora-messaging config file, as in production.
    messaging_config = tmp_path / "fedora-messaging.toml"
    messaging_config.write_text(
        tomli_w.dumps({"amqp_url": rabbitmq_server.url, "topic_prefix": PREFIX})
    )
    backend = make_backend(message_publisher="amqp", messaging_config=str(messaging_config))
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
    messages = rabbitmq_server.take_all(queue)
    topics = [key for key, _, _ in messages]
    assert topics == [f"{PREFIX}.copr.build.start", f"{PREFIX}.copr.chroot.start", topics[2]]
    assert topics[2] == f"{PREFIX}.copr.build.end"
    for key, properties, _ in messages:
        assert properties.headers["fedora_messaging_schema"] == key.removeprefix(f"{PREFIX}.")
        assert properties.content_type == "application/json"
        assert properties.message_id
    end = json.loads(messages[-1][2])
    assert end["status"] == int(StatusEnum.succeeded)
    assert (end["build"], end["owner"], end["copr"]) == (build.id, project.ownername, "msgs")
    assert end["chroot"] == "srpm-builds"

    consumed = subprocess.run(
        [str(UPSTREAM_PYTHON), "-c", READ_AS_CONSUMER],
        input=json.dumps(
            [
                (
                    key,
                    {
                        "headers": properties.headers,
                        "content_type": properties.content_type,
                        "content_encoding": properties.content_encoding,
                    },
                    body.decode(),
                )
                for key, properties, body in messages
            ]
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert consumed.returncode == 0, consumed.stderr
    read = [json.loads(line) for line in consumed.stdout.splitlines()]
    assert [r["class"] for r in read] == [
        "copr_messaging.schema.BuildChrootStartedV1",
        "copr_messaging.schema.BuildChrootStartedV1DontUse",
        "copr_messaging.schema.BuildChrootEndedV1",
    ]
    assert read[-1]["build_id"] == build.id
    assert read[-1]["project"] == f"{project.ownername}/msgs"
    assert read[-1]["chroot"] == "srpm-builds"
    assert read[-1]["status"] == "succeeded"


def test_our_schema_is_checked_before_sending():
    task = {"build_id": 7, "project_owner": "a", "project_name": "p", "package_name": "x"}
    BuildEnded(body=build_message(task, 1, "fedora-42-x86_64")).validate()
    assert message_class("copr.build.end") is BuildEnded
    broken = build_message(task, 1, "fedora-42-x86_64")
    del broken["what"]
    with pytest.raises(Exception, match="'what' is a required property"):
        BuildEnded(body=broken).validate()


PUBLISH_TO_NOWHERE = """
import logging, sys
from copr_backend.messaging import AmqpPublisher, build_message
logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
task = {"build_id": 1, "project_owner": "a", "project_name": "p", "package_name": "x"}
AmqpPublisher("amqp://guest:guest@127.0.0.1:9/%2F", timeout=2).publish(
    "copr.build.end", build_message(task, 1, "fedora-42-x86_64")
)
print("returned")
"""


def test_unreachable_bus_does_not_raise():
    # In a process of its own: fedora-messaging's connection and reactor are per process.
    result = subprocess.run(
        [sys.executable, "-c", PUBLISH_TO_NOWHERE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "FEDORA_MESSAGING_CONF": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "returned"
    assert "cannot publish copr.build.end" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("amqp_url = ", "Failed to parse"),
        ('no_such_key = "x"\n', "Unknown configuration key 'no_such_key'"),
    ],
)
def test_bad_messaging_config_stops_the_dispatcher(tmp_path, content, message):
    messaging_config = tmp_path / "fedora-messaging.toml"
    messaging_config.write_text(content)
    config = tmp_path / "backend.toml"
    config.write_text(
        tomli_w.dumps({"message_publisher": "amqp", "messaging_config": str(messaging_config)})
    )
    result = subprocess.run(
        [str(BIN / "copr-backend-build-dispatcher"), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_CONFIG
    assert "copr-backend: bad fedora-messaging configuration" in result.stderr
    assert message in result.stderr
