"""Start Python workers warm: forked from a clean process whose imports are done.

A worker command such as ``python -m copr_backend.cli build-worker --worker-id 7`` costs a
fresh interpreter and all of its imports, a few hundred ms, before the worker does
anything.  A :class:`WarmStarter` runs such commands (this very interpreter with
``-m MODULE`` or ``-c CODE``) in a fork of its *fork server* instead: a fresh interpreter
of its own, started once (``python -m copr_common.warm_start``), that imports the worker
modules, then does nothing but fork a worker for each request.

The dispatcher itself is never forked: its threads, the locks they hold, its sockets,
Redis and HTTP pools, log handlers and signal handlers cannot reach a worker.  The fork
server has one thread and no connection, so a worker forked from it starts as a fresh
``python -m ...`` would, its imports excepted:

* it is a grandchild of the server leading a session of its own (as ``setsid --fork``
  makes it), so it is nobody's child and outlives the dispatcher and the server;
* it runs in the server's main thread, so it is the main thread of its process;
* stdin is ``/dev/null``, stdout and stderr the given file; whatever else the server had
  open is pointed at ``/dev/null``;
* its environment, working directory and ``sys.argv`` are those of the request (the
  dispatcher's environment at that moment, with the caller's additions);
* its command line in ``/proc/<pid>/cmdline`` (what ``ps`` and ``pgrep -f`` read) is the
  worker command: the server is started with room for it in its own argument area;
* it exits as an interpreter does (non-daemon threads joined, ``atexit``, streams flushed).

What the server has imported is frozen out of the garbage collector's sight
(``gc.freeze``) before each fork: those objects live as long as the worker anyway, and a
worker's collections would otherwise walk the whole imported heap again and again (they
were most of a short worker's CPU, and each walk copies the pages it touches).

The server ends when its dispatcher closes the connection (or dies).  A command this
cannot run (another interpreter, a module the server cannot import) is left to the
caller to ``exec`` as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import importlib.util
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["WarmStarter", "point_descriptors", "runs_in_process", "show_command_line"]

# Bytes of argument area the server keeps for a worker's command line (a longer one is cut).
TITLE_ROOM = 4096
# The largest request (command and environment) the server reads.
MAX_REQUEST = 1 << 20
# How long a request may wait for the server's answer (its first one waits for its imports).
ANSWER_TIMEOUT = 60.0


def runs_in_process(command: Sequence[str]) -> bool:
    """Whether ``command`` is ``<this interpreter> -m MODULE ...`` or ``... -c CODE ...``."""
    if len(command) < 3 or command[1] not in ("-m", "-c"):
        return False
    # Not resolved: a venv's python is a symlink to an interpreter without its packages.
    return Path(command[0]).absolute() == Path(sys.executable).absolute()


class WarmStarter:
    """The dispatcher's side of one fork server: starts it, sends it the worker commands.

    ``name`` only shows in the server's command line; ``preload`` are the modules it
    imports as soon as it starts (a module a request names is imported on first use).
    """

    def __init__(self, name: str, preload: Sequence[str] = ()) -> None:
        self.name = name
        self.preload = list(preload)
        self._lock = threading.Lock()
        self._server: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None

    def start(self) -> None:
        """Start the fork server now, so that it is warm by the first worker."""
        with self._lock:
            self._ensure_server()

    def run(self, command: Sequence[str], output_fd: int | None, env: Mapping[str, str]) -> bool:
        """Start ``command`` as a forked worker; False when it must be exec'd instead.

        ``output_fd`` receives the worker's stdout and stderr (None: ``/dev/null``); ``env``
        is added to this process's environment for the worker.  Raises OSError when the
        worker could not be started.
        """
        if not runs_in_process(command):
            return False
        request = json.dumps(
            {"command": list(command), "env": {**os.environ, **env}, "cwd": str(Path.cwd())}
        ).encode()
        if len(request) > MAX_REQUEST:
            return False
        fds = [output_fd] if output_fd is not None else []
        with self._lock:
            answer = self._ask(request, fds)
        if answer.get("exec"):
            return False
        if "error" in answer:
            raise OSError(f"the fork server could not start the worker: {answer['error']}")
        return True

    def close(self) -> None:
        """Stop the fork server (its workers run on); the next :meth:`run` starts another."""
        with self._lock:
            self._stop_server()

    def __del__(self) -> None:
        # A manager dropped without close() (used without a dispatcher's run): its server
        # goes with it rather than lingering as a zombie.
        self._stop_server()

    def _ask(self, request: bytes, fds: list[int]) -> dict[str, Any]:
        # A server that died since the last request (killed, crashed) is replaced once.
        for attempt in range(2):
            connection = self._ensure_server()
            try:
                socket.send_fds(connection, [request], fds)
                reply = connection.recv(MAX_REQUEST)
            except OSError:
                # A timed-out server may still answer later: never ask it again.
                self._stop_server()
                if attempt:
                    raise
                continue
            if reply:
                answer: dict[str, Any] = json.loads(reply)
                return answer
            self._stop_server()
        raise OSError("the fork server ended without answering")

    def _ensure_server(self) -> socket.socket:
        if self._socket is not None and self._server is not None and self._server.poll() is None:
            return self._socket
        self._stop_server()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "copr_common.warm_start",
                    str(theirs.fileno()),
                    self.name,
                    ",".join(self.preload),
                    # Empty arguments: room in the server's argument area for the title of
                    # a worker (see show_command_line).
                    *([""] * TITLE_ROOM),
                ],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                # A session of its own: a signal to the dispatcher's group (^C) is not its
                # business; it ends when the dispatcher's end of the socket closes.
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.settimeout(ANSWER_TIMEOUT)
        self._socket = ours
        return ours

    def _stop_server(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.kill()
            self._server.wait()
            self._server = None


# --- the fork server ------------------------------------------------------------------------


def _serve(connection: socket.socket, preload: Sequence[str]) -> dict[str, Any] | None:
    """Answer requests until the dispatcher goes (None); a forked worker gets its request."""
    # exec keeps the signal mask of the thread that started us: a worker starts unmasked.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for module in preload:
        try:
            importlib.import_module(module)
        except Exception as error:
            # Its workers will be exec'd, and fail there with the whole story in their log.
            print(f"warm start: cannot import {module}: {error}", file=sys.stderr)
    while True:
        try:
            message, fds, flags, _ = socket.recv_fds(connection, MAX_REQUEST, 1)
        except ConnectionError:
            return None
        if not message:
            return None
        output = fds[0] if fds else None
        request = None if flags & socket.MSG_TRUNC else json.loads(message)
        answer: dict[str, Any]
        if request is None or not _importable(request["command"]):
            answer = {"exec": True}
        else:
            try:
                in_worker = _fork_worker()
            except OSError as error:
                answer = {"error": str(error)}
            else:
                if in_worker:
                    connection.close()
                    request["output"] = output
                    return request  # type: ignore[no-any-return]
                answer = {"started": True}
        if output is not None:
            os.close(output)
        connection.send(json.dumps(answer).encode())


def _importable(command: Sequence[str]) -> bool:
    if command[1] != "-m":
        return True
    try:
        if importlib.util.find_spec(command[2]) is None:
            return False
        # Imported here, once: every later fork starts with it and what it imports loaded.
        importlib.import_module(command[2])
    except Exception:
        return False
    return True


def _fork_worker() -> bool:
    """True in the worker: a grandchild leading its own session; False in the server."""
    gc.freeze()
    child = os.fork()
    if child == 0:
        try:
            if os.fork() != 0:
                os._exit(0)
            os.setsid()
        except BaseException:
            os._exit(1)
        return True
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(f"the worker could not be detached (status {status})")
    return False


def _become_worker(request: dict[str, Any]) -> None:
    command: list[str] = request["command"]
    point_descriptors(request["output"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    show_command_line(command)
    sys.orig_argv = list(command)


def _run_worker(command: list[str]) -> None:
    """Run the command as ``python`` would; what it raises is the interpreter's business."""
    flag, target, arguments = command[1], command[2], command[3:]
    if flag == "-m":
        sys.argv = ["-m", *arguments]
        runpy.run_module(target, run_name="__main__", alter_sys=True)
        return
    sys.argv = ["-c", *arguments]
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    exec(compile(target, "<string>", "exec"), main.__dict__)  # noqa: S102 - the command's own -c code


def point_descriptors(output_fd: int | None) -> None:
    """Point stdin at ``/dev/null``, stdout and stderr at ``output_fd`` (None:
    ``/dev/null``) and every other descriptor at ``/dev/null``, as a fresh process finds them.
    """
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    null = os.open(os.devnull, os.O_RDWR)
    out = output_fd if output_fd is not None else null
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    if output_fd is not None:
        os.close(output_fd)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != null:
            # An object of the server's imports may still hold it: /dev/null, not a gap
            # that the worker's next file would fill.  (The fd listdir used is gone.)
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
    os.close(null)


def show_command_line(command: Sequence[str]) -> None:
    """Write ``command`` into this process's argument area (``/proc/self/cmdline``): as
    much of it as the area holds (a process forked from a fork server has room).
    """
    stat = Path("/proc/self/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # Fields 48 and 49 of proc(5), arg_start and arg_end; the list starts at field 3.
    start, end = int(fields[45]), int(fields[46])
    room = end - start
    if room <= 0:
        return
    title = b"\0".join(os.fsencode(part) for part in command)[: room - 1]
    # Trailing NULs: the kernel shows the area up to its end, as empty arguments.
    ctypes.memmove(start, title.ljust(room, b"\0"), room)


def _main(argv: Sequence[str]) -> None:
    fd, preload = int(argv[1]), [name for name in argv[3].split(",") if name]
    request = _serve(socket.socket(fileno=fd), preload)
    if request is None:
        return
    _become_worker(request)
    _run_worker(request["command"])


if __name__ == "__main__":
    _main(sys.argv)
