"""The member's card as an Apple Wallet pass (issue 18, point 3): a `.pkpass` file, which is a zip of

- `pass.json` (a store card: the network's name, the card number, the points; the card number as a QR code and, for
  older scanners, as Code 128 — what the till's identify field takes),
- the images (`icon.png`, `icon@2x.png`, `logo.png`: plain squares drawn here, so no image ships with the code),
- `manifest.json`, the SHA-1 of every file above, and
- `signature`, a detached PKCS#7 (DER) signature of the manifest made with the operator's Pass Type ID certificate.

Offered only when the operator configured all of COALITION_PASS_CERT, COALITION_PASS_KEY, COALITION_PASS_TYPE_ID and
COALITION_PASS_TEAM_ID (COALITION_PASS_CHAIN adds Apple's WWDR intermediate certificate to the signature); otherwise
the page shows no button and the download is a 404. `cryptography` is imported only when a pass is signed.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coalition.settings import Settings

BRAND_RGB = (11, 87, 164)  # the pages' primary blue


@dataclass(frozen=True, slots=True)
class PassCard:
    network_code: str
    network_name: str
    card_number: str
    member_name: str | None
    points: int


@dataclass(frozen=True, slots=True)
class PassSigner:
    certificate_pem: bytes
    key_pem: bytes
    type_id: str
    team_id: str
    chain_pem: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PassSigner | None:
        """The operator's signer, or None when passes are not configured (then none is offered)."""
        if not settings.wallet_pass_configured:
            return None
        assert settings.pass_cert and settings.pass_key and settings.pass_type_id and settings.pass_team_id
        chain = Path(settings.pass_chain).read_bytes() if settings.pass_chain else None
        return cls(
            Path(settings.pass_cert).read_bytes(),
            Path(settings.pass_key).read_bytes(),
            settings.pass_type_id,
            settings.pass_team_id,
            chain,
        )


def pass_json(card: PassCard, signer: PassSigner) -> dict[str, Any]:
    barcode = {"message": card.card_number, "messageEncoding": "iso-8859-1", "altText": card.card_number}
    return {
        "formatVersion": 1,
        "passTypeIdentifier": signer.type_id,
        "teamIdentifier": signer.team_id,
        "serialNumber": f"{card.network_code}-{card.card_number}",
        "organizationName": card.network_name,
        "description": f"{card.network_name} loyalty card",
        "logoText": card.network_name,
        "foregroundColor": "rgb(255, 255, 255)",
        "backgroundColor": f"rgb({BRAND_RGB[0]}, {BRAND_RGB[1]}, {BRAND_RGB[2]})",
        "storeCard": {
            "primaryFields": [{"key": "points", "label": "Points", "value": card.points}],
            "secondaryFields": [{"key": "member", "label": "Member", "value": card.member_name or ""}],
            "auxiliaryFields": [{"key": "card", "label": "Card", "value": card.card_number}],
        },
        "barcodes": [
            {"format": "PKBarcodeFormatQR", **barcode},
            {"format": "PKBarcodeFormatCode128", **barcode},
        ],
        "barcode": {"format": "PKBarcodeFormatQR", **barcode},  # iOS 8 and older read only this one
    }


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour (8-bit RGB, no filter), written by hand: the pass's images need no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def manifest_of(files: dict[str, bytes]) -> bytes:
    return json.dumps({name: hashlib.sha1(data).hexdigest() for name, data in files.items()}, indent=2).encode()


def sign(manifest: bytes, signer: PassSigner) -> bytes:
    """The detached PKCS#7 signature (DER) of the manifest, with the signer's certificate and the chain."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    certificate = x509.load_pem_x509_certificate(signer.certificate_pem)
    key: Any = serialization.load_pem_private_key(signer.key_pem, password=None)  # RSA or EC, as the certificate
    builder = pkcs7.PKCS7SignatureBuilder().set_data(manifest)
    builder = builder.add_signer(certificate, key, hashes.SHA256())
    for extra in x509.load_pem_x509_certificates(signer.chain_pem) if signer.chain_pem else ():
        builder = builder.add_certificate(extra)
    options = [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary]
    signature: bytes = builder.sign(serialization.Encoding.DER, options)
    return signature


def build_pkpass(card: PassCard, signer: PassSigner) -> bytes:
    files = {
        "pass.json": json.dumps(pass_json(card, signer), ensure_ascii=False, indent=2).encode("utf-8"),
        "icon.png": solid_png(29, 29, BRAND_RGB),
        "icon@2x.png": solid_png(58, 58, BRAND_RGB),
        "logo.png": solid_png(160, 50, BRAND_RGB),
    }
    manifest = manifest_of(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", manifest)
        archive.writestr("signature", sign(manifest, signer))
    return out.getvalue()
