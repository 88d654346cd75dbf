"""``python -m sailmesh.samples.fortio load|curl|server|version [flags] [url]``."""

from __future__ import annotations

import sys

from .. import goflags
from . import VERSION

USAGE = "usage: fortio command [flags] target\ncommands: load, curl, server, version"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(USAGE, file=sys.stderr)
        return 1
    verb, rest = args[0], args[1:]
    try:
        if verb in ("load", "curl"):
            from . import load

            return load.main(verb, rest)
        if verb == "server":
            from . import server

            return server.main(rest)
    except goflags.FlagError as exc:
        print(f"fortio {verb}: {exc}", file=sys.stderr)
        return 1
    if verb == "version":
        print(VERSION)
        return 0
    print(f"fortio: unknown command {verb!r}\n{USAGE}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
