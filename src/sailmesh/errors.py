"""The one exception tree of sailmesh.

Every error sailmesh raises on purpose derives from :class:`SailmeshError`; each layer raises
its own branch, so a caller can catch a layer's failures without catching programming errors::

    SailmeshError
    ├── ConfigError        config: a batch the store cannot apply (StoreError, NotFoundError)
    ├── ApiError           the control-plane API: an HTTP status and a JSON body
    ├── AdsError           the ADS server cannot serve (address taken, ...)
    ├── CaError            certificates and identities
    ├── EnvoyError         Envoy cannot be found, started or made ready (EnvoyNotFoundError)
    ├── SupervisorError    a pod's processes (PodStartError)
    └── SandboxError       namespaces, links, capture rules (CommandFailed, ModeUnavailable)

The CLI maps the tree to exit codes and one-line messages (:func:`exit_code`); validation
problems are values (:mod:`sailmesh.config.diagnostics`), not exceptions.
"""

from __future__ import annotations

from typing import Any


class SailmeshError(Exception):
    """The root of every error sailmesh raises on purpose."""

    #: The process exit code the CLI uses when this error ends a command.
    exit_code = 1


class ConfigError(SailmeshError):
    """Configuration that cannot be loaded or applied (nothing of the batch was applied)."""


class ApiError(SailmeshError):
    """An error the control-plane API reports with an HTTP status and a JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("error", str(body)))
        self.status = status
        self.body = body


class AdsError(SailmeshError):
    """The ADS server could not start or serve (for example, the address is taken)."""


class CaError(SailmeshError):
    """A certificate or identity could not be created, loaded or signed."""


class EnvoyError(SailmeshError):
    """Envoy could not be found, started, or did not become ready."""


class SupervisorError(SailmeshError):
    """A pod's processes could not be started or supervised."""


class SandboxError(SailmeshError):
    """A pod sandbox (namespaces, links, capture rules) could not be made or removed."""

    #: EX_UNAVAILABLE: the machine lacks what the sandbox needs.
    exit_code = 69


def exit_code(error: BaseException) -> int:
    """The CLI's exit code for ``error`` (1 for anything outside the tree)."""
    return error.exit_code if isinstance(error, SailmeshError) else 1


def one_line(error: BaseException) -> str:
    """``error`` as the one line the CLI prints (its first line; the type when it is empty)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
