"""Start a Python worker command by forking this (already warm) process instead of exec.

A worker command such as ``python -m copr_backend.cli build-worker --worker-id 7`` costs a
fresh interpreter and all of its imports, a few hundred ms, before the worker does
anything.  When the command runs this very interpreter with ``-m MODULE`` or ``-c CODE``,
:func:`fork_worker` runs it in a forked copy of the caller instead, with the modules the
caller has imported already there, and with what a fresh process would have had:

* it is a grandchild leading a session of its own (as ``setsid --fork`` makes it), so it
  is not the caller's child and survives it;
* stdin is ``/dev/null``, stdout and stderr go to the given file (``sys.stdout`` and the
  others are new streams on them);
* every other file descriptor inherited from the caller (its Redis and HTTP sockets, its
  log files, its locks) is pointed at ``/dev/null``: the caller's objects that still hold
  them can neither talk on the caller's connections nor keep its locks, and their numbers
  are not freed for the worker's own files while those objects exist;
* logging has no handlers, signals their default dispositions and an empty mask, the
  warning filters and ``atexit`` handlers those of a fresh interpreter;
* ``sys.argv`` and the environment are those the command would have had.

The command stays what is logged and what the worker sees in ``sys.argv``; a command this
cannot run in-process (another interpreter, a module that cannot be found) is left to
the caller to ``exec`` as before.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib
import importlib.util
import logging
import os
import runpy
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

__all__ = ["fork_worker", "in_process_entry"]


def in_process_entry(command: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """``(flag, target, arguments)`` when ``command`` can run in a fork of this process.

    That is ``<this interpreter> -m MODULE ...`` with an importable MODULE, or
    ``<this interpreter> -c CODE ...``; anything else gives None.
    """
    if len(command) < 3 or command[1] not in ("-m", "-c"):
        return None
    # Not resolved: a venv's python is a symlink to an interpreter without its packages.
    if Path(command[0]).absolute() != Path(sys.executable).absolute():
        return None
    flag, target, arguments = command[1], command[2], list(command[3:])
    if flag == "-m":
        try:
            if importlib.util.find_spec(target) is None:
                return None
            # Imported here, once: every later fork starts with the module and what it
            # imports in memory (that is the point).
            importlib.import_module(target)
        except Exception:
            return None
    return flag, target, arguments


def fork_worker(
    command: Sequence[str],
    output_fd: int | None,
    env: Mapping[str, str],
) -> None:
    """Run ``command`` (see :func:`in_process_entry`) in a detached grandchild.

    Returns once the grandchild exists; raises OSError when it could not be made.
    ``output_fd`` receives the worker's stdout and stderr (None: ``/dev/null``); ``env``
    is added to the worker's environment.
    """
    entry = in_process_entry(command)
    if entry is None:
        raise ValueError(f"{command[0]} {command[1]} cannot run in-process")
    # Whatever the caller has buffered must not be written a second time by the fork.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    child = os.fork()
    if child == 0:
        # The middle process forks the worker and exits, so the worker is not our caller's
        # child (nothing has to reap it); the worker then leads a session of its own, as
        # setsid --fork would make it (its session id is its pid).
        try:
            if os.fork() != 0:
                os._exit(0)
            os.setsid()
            _run_as_worker(command, entry, output_fd, env)
        except BaseException:
            os._exit(1)
        os._exit(1)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise OSError(f"the forked worker could not be detached (status {status})")


# What a fresh interpreter's warning filters are (without -W or PYTHONWARNINGS).
_FRESH_WARNING_FILTERS: list[tuple[str, type[Warning], str | None]] = [
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, None),
    ("ignore", PendingDeprecationWarning, None),
    ("ignore", ImportWarning, None),
    ("ignore", ResourceWarning, None),
]


def _run_as_worker(
    command: Sequence[str],
    entry: tuple[str, str, list[str]],
    output_fd: int | None,
    env: Mapping[str, str],
) -> NoReturn:
    _reset_signals()
    _reset_descriptors(output_fd)
    _reset_logging()
    warnings.resetwarnings()
    for action, category, module in reversed(_FRESH_WARNING_FILTERS):
        if module is None:
            warnings.filterwarnings(action, category=category)  # type: ignore[arg-type]
        else:
            warnings.filterwarnings(action, category=category, module=module)  # type: ignore[arg-type]
    atexit._clear()
    os.environ.update(env)
    flag, target, arguments = entry
    code = _run_entry(flag, target, arguments)
    # What a normal interpreter exit does: non-daemon threads, then atexit, then flush.
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is not current and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _run_entry(flag: str, target: str, arguments: list[str]) -> int:
    try:
        if flag == "-m":
            # Executed afresh as __main__; what it imports is already loaded.  (runpy
            # warns about a module already in sys.modules: a fresh start has none.)
            sys.modules.pop(target, None)
            spec = importlib.util.find_spec(target)
            sys.argv = [spec.origin if spec and spec.origin else target, *arguments]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *arguments]
            namespace = {"__name__": "__main__", "__builtins__": __builtins__}
            exec(compile(target, "<string>", "exec"), namespace)  # noqa: S102 - the command's own -c code
    except SystemExit as done:
        return _exit_code(done.code)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _reset_signals() -> None:
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    for signum in signal.valid_signals():
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            continue
        fresh: signal.Handlers | object = signal.SIG_DFL
        if signum == signal.SIGINT:
            fresh = signal.default_int_handler
        elif signum in (signal.SIGPIPE, signal.SIGXFSZ):
            fresh = signal.SIG_IGN
        with contextlib.suppress(OSError, ValueError):
            if signal.getsignal(signum) is not fresh:
                signal.signal(signum, fresh)  # type: ignore[arg-type]


def _reset_descriptors(output_fd: int | None) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    out = output_fd if output_fd is not None else null
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    inherited = [int(name) for name in os.listdir("/proc/self/fd")]
    for fd in inherited:
        if fd > 2 and fd != null:
            try:
                # The fd os.listdir used is listed but closed by now: not re-opened.
                fcntl.fcntl(fd, fcntl.F_GETFD)
            except OSError:
                continue
            os.dup2(null, fd)
    os.close(null)
    # The caller's sys.stdout may have been a stream of its own (a test runner's capture):
    # the worker's are those of a fresh interpreter, on its fds 0, 1 and 2.
    sys.stdin = open(0, encoding=None, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(  # noqa: SIM115
        2, "w", buffering=1, errors="backslashreplace", closefd=False
    )
    for name in ("stdin", "stdout", "stderr"):
        setattr(sys, f"__{name}__", getattr(sys, name))


def _reset_logging() -> None:
    loggers = [logging.getLogger()]
    loggers += [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        # Not closed: flushing them could write the caller's buffers once more.
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    logging.getLogger().setLevel(logging.WARNING)
    logging.disable(logging.NOTSET)
