"""TLS with our own CA and a client certificate, username/password, and several broker
URLs tried in order (the first one dead)."""

from __future__ import annotations

import asyncio
import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agent.adapters.mqtt import BrokerSettings, BrokerUnreachableError, connect
from agent.sim.testing import free_port
from tests.integration.report.broker import Mosquitto, require_broker


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_pki(folder: Path) -> dict[str, Path]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test CA"))
        .issuer_name(_name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {"ca": folder / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for role, san in (
        ("server", x509.SubjectAlternativeName([x509.DNSName("localhost")])),
        ("client", None),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(f"test {role}"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        paths[f"{role}_cert"] = folder / f"{role}.pem"
        paths[f"{role}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{role}_key"] = folder / f"{role}.key"
        _write_key(paths[f"{role}_key"], key)
    return paths


async def test_tls_client_certificate_password_and_url_fallback(tmp_path: Path) -> None:
    require_broker()
    if shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto_passwd is missing: apt-get install mosquitto")
    pki = make_pki(tmp_path)
    passwords = tmp_path / "passwd"
    passwords.touch(mode=0o600)
    await asyncio.to_thread(
        subprocess.run, ["mosquitto_passwd", "-b", str(passwords), "rack-1", "s3cret"], check=True
    )
    port = free_port()
    config = [
        f"cafile {pki['ca']}",
        f"certfile {pki['server_cert']}",
        f"keyfile {pki['server_key']}",
        "require_certificate true",
        "allow_anonymous false",
        f"password_file {passwords}",
    ]
    async with Mosquitto(port=port, extra_config=config) as broker:
        dead = f"mqtts://localhost:{free_port()}"
        good = f"mqtts://localhost:{broker.port}"
        settings = BrokerSettings(
            urls=(dead, good),
            client_id="tls-test",
            username="rack-1",
            password="s3cret",
            ca_file=str(pki["ca"]),
            cert_file=str(pki["client_cert"]),
            key_file=str(pki["client_key"]),
            connect_timeout=5,
        )
        async with connect(settings) as link:
            assert link.url.text == good
            await link.subscribe("t/#")
            await link.publish("t/x", b"{}", qos=1)
            async for message in link.messages():
                assert message.topic == "t/x"
                break
        # Without the client certificate, or with a wrong password: refused, and the
        # error names every URL tried.
        for broken in (
            # (TLS 1.3 reports the missing certificate after the handshake; aiomqtt
            # then only sees no CONNACK, so this case ends by the connect timeout.)
            BrokerSettings(
                urls=(good,),
                client_id="t2",
                username="rack-1",
                password="s3cret",
                ca_file=str(pki["ca"]),
                connect_timeout=1,
            ),
            BrokerSettings(
                urls=(good,),
                client_id="t3",
                username="rack-1",
                password="wrong",
                ca_file=str(pki["ca"]),
                cert_file=str(pki["client_cert"]),
                key_file=str(pki["client_key"]),
                connect_timeout=5,
            ),
        ):
            with pytest.raises(BrokerUnreachableError, match=good):
                async with connect(broken):
                    pass
