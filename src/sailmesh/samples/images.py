"""Which container images the samples stand in for, and the command line each one runs.

Pods run on the host, so an image cannot be pulled: a container naming one of the images below
runs the stand-in of :mod:`sailmesh.samples` instead, with the image's own arguments, as
Kubernetes would run the image (``command`` replaces the ENTRYPOINT, ``args`` the CMD):

- no ``command``: the image's entrypoint with ``args`` (or its CMD) runs the stand-in;
- a ``command`` whose program is one of the image's own (``/usr/bin/fortio``, ``gunicorn``)
  runs the stand-in with the rest of the command line; any other command (``/bin/sleep``)
  runs as written on the host;
- ``curlimages/curl`` runs the host's ``curl`` (its entrypoint script's rule: arguments
  starting with ``-`` are curl's).

:func:`exec_argv` applies the same rule to ``sailctl exec`` (``/usr/bin/fortio load ...`` in a
fortio pod). Image references may carry a registry (``docker.io/``, ``registry.istio.io/``),
a tag and a digest. In: image references and command lines. Out: command lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PYTHON = "python3"


@dataclass(frozen=True)
class Image:
    """One image: the stand-in module (None: the host's programs), the arguments placed before
    the image's own, the image's programs that run it, and the image's default command line."""

    module: str | None
    prefix: tuple[str, ...]
    programs: tuple[str, ...]
    entrypoint: bool  # True: ``args`` are the entrypoint's arguments; False: CMD only
    default: tuple[str, ...]

    def stand_in(self, argv: Sequence[str]) -> tuple[str, ...]:
        """The command line running ``argv`` (the image's own, program first)."""
        rest = list(argv[1:])
        if rest[:2] == ["run", "gunicorn"]:  # ``pipenv run gunicorn ...``
            rest = rest[2:]
        if self.module is None:
            return (argv[0].rsplit("/", 1)[-1], *rest)
        return (PYTHON, "-m", f"sailmesh.samples.{self.module}", *self.prefix, *rest)

    def runs(self, program: str) -> bool:
        return program.rsplit("/", 1)[-1] in self.programs


_GUNICORN_HTTPBIN = ("gunicorn", "-b", "0.0.0.0:80", "httpbin:app", "-k", "gevent")
_GUNICORN_HELLO = ("gunicorn", "-b", "[::]:5000", "app:app", "-k", "gevent")

#: Known images by repository path (no registry, tag or digest).
IMAGES: dict[str, Image] = {
    "mccutchen/go-httpbin": Image("httpbin", ("go",), ("go-httpbin",), True, ()),
    "kennethreitz/httpbin": Image("httpbin", ("python",), ("gunicorn",), False, _GUNICORN_HTTPBIN),
    "kong/httpbin": Image(
        "httpbin", ("python",), ("gunicorn", "pipenv"), False, ("pipenv", "run", *_GUNICORN_HTTPBIN)
    ),
    "fortio/fortio": Image(
        "fortio", (), ("fortio",), True, ("server", "-config-dir", "/etc/fortio")
    ),
    "istio/examples-helloworld-v1": Image(
        "helloworld", ("v1",), ("gunicorn",), False, _GUNICORN_HELLO
    ),
    "istio/examples-helloworld-v2": Image(
        "helloworld", ("v2",), ("gunicorn",), False, _GUNICORN_HELLO
    ),
    "istio/tcp-echo-server": Image("tcpecho", (), ("tcp-echo",), True, ("9000", "hello")),
    "curlimages/curl": Image(None, (), ("curl",), True, ("curl",)),
}
#: Other names of the same images (Istio's release registry path).
ALIASES = {
    "release/examples-helloworld-v1": "istio/examples-helloworld-v1",
    "release/examples-helloworld-v2": "istio/examples-helloworld-v2",
}


def repository(reference: str) -> str:
    """``docker.io/mccutchen/go-httpbin:v2.15.0@sha256:...`` -> ``mccutchen/go-httpbin``."""
    name = reference.strip().split("@", 1)[0]
    head, sep, tail = name.rpartition(":")
    if sep and "/" not in tail:
        name = head
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def known(reference: str | None) -> Image | None:
    """The image ``reference`` names, if a sample stands in for it."""
    if not reference:
        return None
    path = repository(reference)
    return IMAGES.get(ALIASES.get(path, path))


def known_names() -> list[str]:
    return sorted(IMAGES)


def container_argv(
    image: str | None, command: Sequence[str], args: Sequence[str]
) -> tuple[str, ...] | None:
    """The command line a container runs; None when it has no command and no stand-in."""
    found = known(image)
    if command:
        argv = (*command, *args)
        return found.stand_in(argv) if found is not None and found.runs(argv[0]) else argv
    if found is None:
        return None
    if found.entrypoint:
        own = tuple(args) or found.default
        if found.module is None:  # the curl image's entrypoint: options are curl's
            return own if own and not own[0].startswith("-") else ("curl", *own)
        return found.stand_in((found.programs[0], *own))
    argv = tuple(args) or found.default
    return found.stand_in(argv) if found.runs(argv[0]) else argv


def exec_argv(image: str | None, argv: Sequence[str]) -> tuple[str, ...]:
    """``argv`` as ``sailctl exec`` runs it in a container of ``image``."""
    found = known(image)
    if argv and found is not None and found.module is not None and found.runs(argv[0]):
        return found.stand_in(argv)
    return tuple(argv)
