"""Certificates for a grading cluster that only the instructor's machines can join.

Dask's ``tls://`` connections check both ends (mutual TLS, :class:`distributed.Security`): a
scheduler, a worker or a client that presents no certificate signed by the cluster's own
certificate authority is refused. :func:`make_certificates` writes that authority and one
certificate for each role, with the ``cryptography`` library (``lstm-lessons cluster certs
DIR``); :func:`security` gives the grader's side. The authority's private key
(``ca-key.pem``) signs nothing else and is needed only to make more certificates: keep it off
the grading machines. Dask does not compare host names (``check_hostname`` is off), so the
certificates name roles, not machines.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from lstm_lessons.params import Rule, require

ROLES = ("scheduler", "worker", "grader")
"""One certificate and key each: ``<role>.pem`` and ``<role>-key.pem``."""

AUTHORITY = "ca.pem"
"""The certificate authority every end checks the others against."""

VALID_DAYS = 365
"""How long the certificates are valid."""


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    # O_EXCL and O_NOFOLLOW: never through a file or a link someone put there first.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _write_key(path: Path, key) -> None:
    from cryptography.hazmat.primitives import serialization

    _write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()), mode=0o600)


def make_certificates(folder, days: int = VALID_DAYS, name: str = "lstm-lessons grading") -> dict[str, Path]:
    """Write a certificate authority and a certificate for each of :data:`ROLES` into ``folder``.

    Files: ``ca.pem`` (give it to every machine) and ``ca-key.pem`` (keep it), and for each role
    ``<role>.pem`` and ``<role>-key.pem`` (keys readable by their owner only): the scheduler's
    to the scheduler, the worker's to every worker, the grader's to the machine that grades.

    Args:
        folder: created if missing; must not hold certificates already.
        days: validity, from now.
        name: the authority's common name.

    Returns:
        ``{"ca": path, "ca-key": path, "<role>": path, "<role>-key": path, ...}``.

    The worker's key is as powerful as the grader's: Dask does not tell the roles apart, and a
    worker's certificate lets its holder connect as a client too. Copy it only to machines you
    trust as much as your own.

    Raises:
        FileExistsError: ``folder`` already holds one of the files (nothing is overwritten).
        PermissionError: other users can write into ``folder``.
        ValueError: ``days`` is not an integer from 1 to 36500.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    require("days", days, Rule(int, 1, 36_500, meaning="days the certificates stay valid"))
    folder = Path(folder)
    paths = {"ca": folder / AUTHORITY, "ca-key": folder / "ca-key.pem"}
    for role in ROLES:
        paths[role], paths[f"{role}-key"] = folder / f"{role}.pem", folder / f"{role}-key.pem"
    existing = [str(p) for p in paths.values() if p.exists() or p.is_symlink()]
    if existing:
        raise FileExistsError(f"{folder} already holds certificates ({', '.join(existing)}); "
                              f"choose an empty folder.")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o022:
        raise PermissionError(f"{folder} can be written by other users, who could replace a "
                              f"certificate before you copy it; use a folder only you can write.")
    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)

    def subject(common_name: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    ca_key = _key()
    ca_name = subject(name)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    _write_key(paths["ca-key"], ca_key)
    _write(paths["ca"], ca.public_bytes(serialization.Encoding.PEM))
    for role in ROLES:
        key = _key()
        certificate = (
            x509.CertificateBuilder().subject_name(subject(f"{name}: {role}")).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, encipher_only=False, decipher_only=False),
                           critical=True)
            # Every end is both: a worker serves the scheduler and calls it.
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"{role}.lstm-lessons")]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
        _write_key(paths[f"{role}-key"], key)
        _write(paths[role], certificate.public_bytes(serialization.Encoding.PEM))
    return paths


def security(folder, role: str = "grader"):
    """The :class:`distributed.Security` of one end of the cluster, from ``folder``'s files
    (:func:`make_certificates`): every connection encrypted and checked against ``ca.pem``.

    Raises:
        ValueError: ``role`` is not one of :data:`ROLES`.
        FileNotFoundError: a file of that role, or ``ca.pem``, is missing.
    """
    from distributed import Security

    if role not in ROLES:
        raise ValueError(f"role must be one of {list(ROLES)}. Received: role={role!r}")
    folder = Path(folder)
    files = {"ca": folder / AUTHORITY, "cert": folder / f"{role}.pem", "key": folder / f"{role}-key.pem"}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"missing certificate file(s): {', '.join(missing)} "
                                f"(make them with `lstm-lessons cluster certs {folder}`)")
    ca, cert, key = (str(files[k]) for k in ("ca", "cert", "key"))
    arguments = {"tls_ca_file": ca, f"tls_{'client' if role == 'grader' else role}_cert": cert,
                 f"tls_{'client' if role == 'grader' else role}_key": key}
    return Security(require_encryption=True, **arguments)
