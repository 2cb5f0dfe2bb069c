"""gochan.net over TLS: a certificate made at test time, 200 concurrent echo connections on one hub."""
from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
from typing import Any, Iterator, Tuple

import pytest

import gochan
from gochan import go, net, take
from gochan.process import go_on


def _make_cert(d: str) -> Tuple[str, str]:
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    try:
        import cryptography  # noqa: F401  (only if already installed)
    except ImportError:
        pass
    else:
        _cert_with_cryptography(cert, key)
        return cert, key
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the cryptography package nor the openssl command is available to make a certificate")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def _cert_with_cryptography(cert: str, key: str) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                        critical=False)
         .sign(k, hashes.SHA256()))
    with open(cert, "wb") as f:
        f.write(c.public_bytes(serialization.Encoding.PEM))
    with open(key, "wb") as f:
        f.write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


@pytest.fixture(scope="module", autouse=True)
def fresh_runtime_after() -> Any:
    """Later test modules get hubs without pollers, as they would have without this one."""
    yield
    gochan.shutdown()


@pytest.fixture(scope="module")
def contexts() -> Iterator[Tuple[ssl.SSLContext, ssl.SSLContext]]:
    with tempfile.TemporaryDirectory() as d:
        cert, key = _make_cert(d)
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(cert, key)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.load_verify_locations(cert)
        yield server, client


def echo_lines(conn: net.Conn) -> None:
    with conn:
        while True:
            line = conn.readline()
            if not line:
                return
            conn.send_all(line)


@pytest.mark.timeout(60)
def test_tls_echo_200_connections_on_one_hub(contexts: Any) -> None:
    server_ctx, client_ctx = contexts

    def client(port: int, i: int) -> bool:
        with net.connect(("127.0.0.1", port), ssl=client_ctx, server_hostname="localhost") as c:
            assert isinstance(c.sock, ssl.SSLSocket)
            for k in range(3):
                msg = b"%d-%d " % (i, k) * 100 + b"\n"  # ~1 KB, several TLS records for some
                c.send_all(msg)
                if c.readline() != msg:
                    return False
            return True

    def main() -> int:
        srv = net.serve(("127.0.0.1", 0), echo_lines, ssl=server_ctx)  # all on this hub
        rs = [go(client, srv.address[1], i) for i in range(200)]
        ok = sum(1 for r in rs if take(r))
        srv.close()
        return ok

    assert take(go_on(0, main)) == 200


@pytest.mark.timeout(30)
def test_tls_from_a_thread_and_bad_handshake(contexts: Any) -> None:
    server_ctx, client_ctx = contexts
    srv = net.serve(("127.0.0.1", 0), echo_lines, ssl=server_ctx)
    with net.connect(srv.address, ssl=client_ctx, server_hostname="localhost", timeout_ms=5000) as c:
        c.send_all(b"thread\n")
        assert c.readline(timeout_ms=5000) == b"thread\n"
    # A client that does not trust the certificate fails its handshake with an SSLError (an OSError).
    untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ssl.SSLError):
        net.connect(srv.address, ssl=untrusting, server_hostname="localhost")

    def in_go_block() -> str:
        try:
            net.connect(srv.address, ssl=untrusting, server_hostname="localhost")
        except ssl.SSLError:
            return "SSLError"
        return "connected"

    assert take(go(in_go_block)) == "SSLError"
    srv.close()


@pytest.mark.timeout(30)
def test_tls_listener_iteration_drops_failed_handshakes(contexts: Any) -> None:
    server_ctx, client_ctx = contexts
    lst = net.listen(("127.0.0.1", 0), ssl=server_ctx)

    def first_good() -> bytes:
        for conn in lst:  # the untrusting client's failed handshake is skipped
            with conn:
                return conn.readline()
        return b"ended"

    r = go(first_good)
    untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with pytest.raises(ssl.SSLError):
        net.connect(lst.address, ssl=untrusting, server_hostname="localhost")
    with net.connect(lst.address, ssl=client_ctx, server_hostname="localhost") as c:
        c.send_all(b"good\n")
        assert take(r) == b"good\n"
    lst.close()
