"""CA files on disk: private directories (0700), private files (0600), atomic writes, and the
``cacerts`` layout Istio's plug-in CA uses.

Layout (the same for a plug-in directory and for the CA sailmesh creates under its state dir)::

    ca-cert.pem     the signing certificate (the root itself for a self-signed CA)
    ca-key.pem      its private key                         (0600, owner only)
    root-cert.pem   the root(s) to trust
    cert-chain.pem  ca-cert up to the root (optional: ca-cert + root when absent)

Writes go to a temporary file created 0600 (``O_EXCL``, never readable by others even for a
moment) in the same directory, fsynced, then renamed over the target: a crash leaves the old
file or the new one, never half of one. Reading a key refuses a file another user owns or that
group/others may read, and a directory others may write to.

What an attacker on the host can do: another unprivileged user cannot read the CA key (0600 in
0700) nor swap files in the directory; root can do anything, as with Istio's plug-in secret.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography import x509

from sailmesh.ca.certs import load_pems, pem
from sailmesh.ca.keys import load_private_pem, private_pem
from sailmesh.ca.material import CaMaterial
from sailmesh.errors import CaError

CA_CERT = "ca-cert.pem"
CA_KEY = "ca-key.pem"
ROOT_CERT = "root-cert.pem"
CERT_CHAIN = "cert-chain.pem"


def private_dir(path: Path) -> Path:
    """``path`` as a directory only the current user may use (created 0700; refused when
    another user owns it)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.geteuid():
        raise CaError(f"{path} belongs to uid {info.st_uid}, not to this user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically; the file is created with ``mode``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_private(path: Path) -> bytes:
    """A private file's bytes, refused unless this user owns it and no one else can read it."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if info.st_uid != os.geteuid():
            raise CaError(f"{path} belongs to uid {info.st_uid}, not to this user")
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise CaError(
                f"{path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}; want 600)"
            )
        return f.read()


def load_cacerts(directory: Path) -> CaMaterial:
    """The CA of a ``cacerts`` directory, checked (key matches, chain ends at the root)."""
    try:
        key = load_private_pem(read_private(directory / CA_KEY))
        signing = _one(directory / CA_CERT)
        roots = tuple(load_pems((directory / ROOT_CERT).read_bytes()))
        chain_file = directory / CERT_CHAIN
        chain = tuple(load_pems(chain_file.read_bytes())) if chain_file.exists() else ()
    except FileNotFoundError as exc:
        raise CaError(f"cacerts: missing {exc.filename}") from None
    except ValueError as exc:
        raise CaError(f"cacerts: a certificate does not parse: {exc}") from None
    if not chain or chain[0] != signing:
        chain = (signing, *(c for c in chain if c != signing))
    return CaMaterial(key, chain, roots).check()


def save_cacerts(directory: Path, material: CaMaterial) -> None:
    """Write ``material`` in the ``cacerts`` layout (every file 0600, the directory 0700)."""
    private_dir(directory)
    write_atomic(directory / CA_KEY, private_pem(material.signing_key))
    write_atomic(directory / CA_CERT, pem(material.signing_cert))
    write_atomic(directory / ROOT_CERT, material.roots_pem())
    write_atomic(directory / CERT_CHAIN, b"".join(pem(c) for c in material.chain))


def _one(path: Path) -> x509.Certificate:
    found = load_pems(path.read_bytes())
    if not found:
        raise CaError(f"{path} holds no certificate")
    return found[0]
