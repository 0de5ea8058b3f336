"""``custom`` sources: the user's script runs in the sandbox, with network, in an empty
working directory; the spec and sources it leaves in the result directory (``resultdir``,
relative to the working directory) become the SRPM.

``builddeps`` cannot be installed into the host buildroot; they are listed in the log.
With ``hook_data``, the webhook payload is saved as ``hook_payload`` in the working
directory first.
"""

from __future__ import annotations

from typing import Any

from copr_rpmbuild.context import BuildContext
from copr_rpmbuild.errors import BuildFailure
from copr_rpmbuild.providers.base import SourceResult, inside, single_spec, text_field


def produce(ctx: BuildContext, source: dict[str, Any]) -> SourceResult:
    script = source.get("script")
    if not isinstance(script, str) or not script.strip():
        raise BuildFailure("source_json has no 'script'")
    result_rel = text_field(source, "resultdir", required=False)
    builddeps = text_field(source, "builddeps", required=False)
    workdir = ctx.subdir("workdir")
    script_path = ctx.hostdir / "script"
    script_path.write_text(script if script.startswith("#!") else "#!/bin/sh\n" + script)
    script_path.chmod(0o755)
    if source.get("hook_data") and source.get("tmp"):
        tmp = text_field(source, "tmp")
        base = ctx.settings.frontend_url.rstrip("/")
        url = f"{base}/tmp/{tmp}/hook_payload"  # noqa: S108 - a frontend URL, not a file
        ctx.download(url, workdir / "hook_payload")
    if builddeps:
        ctx.log.line(
            f"builddeps {builddeps!r} are not installed: the host buildroot has only what "
            "the builder machine has"
        )
    box = ctx.sandbox(network=True)
    ctx.log.line("Running the custom script in the sandbox, with network")
    status = ctx.run_sandboxed(
        [box.inside(script_path)], cwd=workdir, network=True, describe="the custom script"
    )
    if status != 0:
        raise ctx.command_failed("the custom script", status)
    workdir = ctx.checked(workdir)
    resultdir = inside(workdir, result_rel, "resultdir") if result_rel else workdir
    if not resultdir.is_dir():
        raise BuildFailure(f"the custom script left no result directory {result_rel!r}")
    spec = single_spec(resultdir, what="script's result directory")
    return SourceResult(spec=spec, sourcedir=resultdir)
