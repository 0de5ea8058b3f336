"""rpmlint over a build's packages (the RPMs and the SRPM), once they are built.

Its whole report goes into the result dir as ``rpmlint.txt``; its findings (package,
level, check, detail) and their counts go into ``results.json`` under ``rpmlint``, which
the backend hands to the frontend with the rest of the results.  A task with
``rpmlint_fail_on_errors`` (the project's choice) fails when rpmlint reports an error.

rpmlint reads the packages only — nothing of them runs — so it runs on the builder
itself, not in the build's sandbox, under a timeout of its own.  The packages are signed
later, by the backend: rpmlint's ``no-signature`` is no finding here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure, InfrastructureError
from copr_rpmbuild.task import BuildTask

RPMLINT_FILE = "rpmlint.txt"
# At most this many findings travel in results.json; rpmlint.txt has them all.
MAX_FINDINGS = 500
_FINDING = re.compile(
    r"^(?P<package>[^\s:]+): (?P<level>[EW]): (?P<check>\S+)(?: (?P<detail>.*))?$"
)
_CONFIG = 'Filters = ["no-signature"]\n'
# rpmlint's exit codes: 0 no errors, 64 errors found, 66 over the badness threshold.
_CHECKED = (0, 64, 66)


Verdict = tuple[dict[str, Any], BuildFailure | InfrastructureError | None]


def lint_packages(ctx: BuildContext, task: BuildTask, packages: list[Path]) -> Verdict:
    """Run rpmlint over ``packages``: the ``rpmlint`` entry of results.json, and the
    failure the build ends with because of it (None: none).

    A task that fails on errors fails when rpmlint reports some (:class:`BuildFailure`)
    and when rpmlint cannot check the packages (:class:`InfrastructureError`).
    """
    command = ctx.settings.rpmlint_command
    executable = shutil.which(command) if command else None
    if executable is None:
        why = f"{command} is not installed on this builder" if command else "it is turned off"
        ctx.log.line(f"rpmlint: not run: {why}")
        missing = None
        if task.rpmlint_fail_on_errors:
            missing = InfrastructureError(f"the project fails builds on rpmlint errors, but {why}")
        return {"ran": False, "reason": why}, missing
    config = ctx.workspace / "rpmlint.toml"
    config.write_text(_CONFIG)
    timeout = max(1.0, min(ctx.settings.rpmlint_timeout, ctx.limits.remaining()))
    argv = [executable, "-c", str(config), *(str(p) for p in packages)]
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            cwd=ctx.workspace,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return _not_checked(ctx, task, f"rpmlint ran longer than {timeout:g} s")
    except OSError as error:
        return _not_checked(ctx, task, f"cannot run rpmlint: {error.strerror}")
    report = done.stdout + done.stderr
    (ctx.resultdir / RPMLINT_FILE).write_text(report)
    if done.returncode not in _CHECKED:
        return _not_checked(ctx, task, f"rpmlint exited {done.returncode}")
    findings = [m.groupdict() for m in map(_FINDING.match, done.stdout.splitlines()) if m]
    for finding in findings:
        finding["detail"] = finding["detail"] or ""
    errors = [f for f in findings if f["level"] == "E"]
    warnings = len(findings) - len(errors)
    ctx.log.line(f"rpmlint: {len(errors)} error(s), {warnings} warning(s); see {RPMLINT_FILE}")
    failure: BuildFailure | None = None
    if errors and task.rpmlint_fail_on_errors:
        first = errors[0]
        failure = BuildFailure(
            f"rpmlint found {len(errors)} error(s), and the project fails builds on them: "
            f"{first['package']}: {first['check']} {first['detail']}".rstrip()
            + f" (all in {RPMLINT_FILE})"
        )
    entry = {
        "ran": True,
        "errors": len(errors),
        "warnings": warnings,
        "findings": findings[:MAX_FINDINGS],
    }
    return entry, failure


def _not_checked(ctx: BuildContext, task: BuildTask, why: str) -> Verdict:
    ctx.log.line(f"rpmlint: {why}")
    failure = None
    if task.rpmlint_fail_on_errors:
        failure = InfrastructureError(f"the packages could not be checked: {why}")
    return {"ran": False, "reason": why}, failure
