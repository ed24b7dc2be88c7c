"""The member's card as an Apple Wallet pass (.pkpass): hidden and a 404 problem until the operator configures a
certificate; with one (a throwaway certificate made here) a zip of pass.json, the images, a manifest of their SHA-1
and a detached PKCS#7 signature of the manifest that OpenSSL verifies (both engines)."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from coalition.adapters.web.wallet_pass import PassCard, PassSigner, build_pkpass
from coalition.settings import Settings
from coalition.wiring import build_services
from tests.support import client
from tests.web.test_self_signup import _card_number, _join, _shop, _turn_on

cryptography = pytest.importorskip("cryptography")


def _throwaway_certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pass Type ID: pass.test.coalition")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "pass.pem", folder / "pass.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _openssl_verifies(folder: Path) -> bool:
    """OpenSSL's check of the detached signature over manifest.json (the certificate's chain is not checked)."""
    command = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-noverify"]
    command += ["-in", str(folder / "signature"), "-content", str(folder / "manifest.json"), "-out", "/dev/null"]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def _checked(pkpass: bytes, folder: Path) -> dict[str, object]:
    """The pass's structure checked as Wallet checks it; answers pass.json."""
    with zipfile.ZipFile(io.BytesIO(pkpass)) as archive:
        names = set(archive.namelist())
        assert names == {"pass.json", "icon.png", "icon@2x.png", "logo.png", "manifest.json", "signature"}
        manifest = json.loads(archive.read("manifest.json"))
        assert set(manifest) == names - {"manifest.json", "signature"}
        for name, digest in manifest.items():
            assert hashlib.sha1(archive.read(name)).hexdigest() == digest
            if name.endswith(".png"):
                assert archive.read(name).startswith(b"\x89PNG\r\n\x1a\n")
        (folder / "manifest.json").write_bytes(archive.read("manifest.json"))
        (folder / "signature").write_bytes(archive.read("signature"))
        document: dict[str, object] = json.loads(archive.read("pass.json"))
    if shutil.which("openssl"):
        assert _openssl_verifies(folder), "the signature of the manifest does not verify"
        (folder / "manifest.json").write_bytes(b"{}")  # another manifest does not match the signature
        assert not _openssl_verifies(folder)
    return document


def test_a_pass_is_a_signed_zip_wallet_accepts(tmp_path: Path) -> None:
    cert, key = _throwaway_certificate(tmp_path)
    signer = PassSigner(cert.read_bytes(), key.read_bytes(), "pass.test.coalition", "TEAM123456")
    card = PassCard("pine-bakery", "Pine Bakery", "166217047603", "Anna Berzina", 42)
    document = _checked(build_pkpass(card, signer), tmp_path)
    assert document["passTypeIdentifier"] == "pass.test.coalition" and document["teamIdentifier"] == "TEAM123456"
    assert document["serialNumber"] == "pine-bakery-166217047603"
    assert document["formatVersion"] == 1
    barcodes = document["barcodes"]
    assert isinstance(barcodes, list)
    assert [b["format"] for b in barcodes] == ["PKBarcodeFormatQR", "PKBarcodeFormatCode128"]
    assert {b["message"] for b in barcodes} == {"166217047603"}  # what the till's identify field takes
    store_card = document["storeCard"]
    assert isinstance(store_card, dict) and store_card["primaryFields"][0]["value"] == 42


@pytest.mark.anyio
async def test_the_page_offers_a_pass_only_when_the_operator_configured_one(settings: Settings, tmp_path: Path) -> None:
    cert, key = _throwaway_certificate(tmp_path)
    for configured in (False, True):
        extra = {"pass_cert": str(cert), "pass_key": str(key), "pass_type_id": "pass.t", "pass_team_id": "T1"}
        built = dataclasses.replace(settings, open_registration=True, **(extra if configured else {}))
        services = build_services(built)
        try:
            async with client(services) as http:
                if not configured:
                    await _shop(http)
                    await _turn_on(http)
                async with client(services) as phone:
                    joined = await _join(phone, phone=f"+3712000020{int(configured)}")
                    number = _card_number(joined.text)
                    page = await phone.get("/me")
                    download = await phone.get("/me/card.pkpass")
                if not configured:
                    assert 'id="wallet-pass"' not in page.text
                    assert download.status_code == 404
                    assert download.headers["content-type"] == "application/problem+json"
                    assert download.json()["detail"] == "this server offers no wallet pass"
                    continue
                assert 'id="wallet-pass"' in page.text
                assert download.status_code == 200
                assert download.headers["content-type"] == "application/vnd.apple.pkpass"
                document = _checked(download.content, tmp_path)
                assert document["serialNumber"] == f"pine-bakery-{number}"
        finally:
            await services.close()
