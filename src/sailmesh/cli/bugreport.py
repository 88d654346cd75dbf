"""``sailctl bug-report``: an archive of the running mesh for a bug report, secrets redacted
(see :mod:`sailmesh.app.bugreport` for what it holds)."""

from __future__ import annotations

from pathlib import Path

import click

from sailmesh.cli.client import call, default_home, socket_option


@click.command("bug-report")
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("bug-report.tar.gz"),
    show_default=True,
    help="Archive to write (mode 0600).",
)
@socket_option
def bug_report(out: Path, socket_path: Path | None) -> None:
    """Collect config, proxy config dumps, logs, status, analysis and versions into one archive,
    with private keys and tokens redacted, like `istioctl bug-report`."""
    from sailmesh.app.bugreport import collect, write_archive

    call(socket_path, "GET", "/v1/version")  # no control plane: one clear line, no archive
    files = collect(lambda m, r: call(socket_path, m, r), default_home())
    write_archive(files, out)
    proxies = len({tuple(n.split("/")[1:3]) for n in files if n.startswith("proxies/")})
    click.echo(
        f"wrote {out} ({len(files)} files, {proxies} proxies); private keys and tokens redacted"
    )
