"""The API's documentation pages, /docs (Swagger UI) and /redoc, served without the internet (issue 18).

FastAPI's own pages load Swagger UI and ReDoc from a CDN, which leaves a blank page on a shop's LAN. Here the
assets come from the installed `fastapi-offline` package (Swagger UI 5.32.6, which renders our OpenAPI 3.1
document; ReDoc 2.5.3), read through importlib.resources and served under /docs/assets/. Swagger UI is started
by a script of ours (/docs/assets/init.js), not an inline one, so the pages' policy needs no 'unsafe-inline' for
scripts: `script-src 'self'`. ReDoc starts itself from its `<redoc>` element; it builds its search worker from a
blob: URL, hence `worker-src 'self' blob:`. Both set inline styles (style-src 'unsafe-inline'), and Swagger UI
draws its icons as data: images.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from html import escape
from importlib import resources

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
ASSET_PACKAGE = "fastapi_offline"  # its static/ directory: swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
CACHE_ASSETS = "public, max-age=86400"  # an asset changes only with the package's version (its ETag)


def _init_script(openapi_url: str) -> bytes:
    options = {"url": openapi_url, "dom_id": "#swagger-ui", "deepLinking": True, "layout": "BaseLayout"}
    return (
        "window.addEventListener('load', function () {\n"
        f"  window.ui = SwaggerUIBundle(Object.assign({json.dumps(options)}, "
        "{presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]}));\n"
        "});\n"
    ).encode()


def _tagged(content: bytes) -> tuple[bytes, str]:
    return content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


@cache
def _asset(name: str) -> tuple[bytes, str]:
    """The package's file and its ETag, read once per process (a few MB in all, asked for only by people reading
    the docs)."""
    return _tagged((resources.files(ASSET_PACKAGE) / "static" / name).read_bytes())


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">\n{head}</head>\n<body>\n{body}</body>\n'
        "</html>\n"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache"})


def install(app: FastAPI) -> None:
    """/docs, /redoc and their assets; the app is made with docs_url=None and redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"
    init_script = _tagged(_init_script(openapi_url))

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _page(
            f"{app.title} — API (Swagger UI)",
            f'<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">\n',
            f'<div id="swagger-ui"></div>\n<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>\n'
            f'<script src="{ASSETS_URL}/init.js"></script>\n',
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(
            f"{app.title} — API (ReDoc)",
            "",
            f'<redoc spec-url="{escape(openapi_url)}"></redoc>\n'
            f'<script src="{ASSETS_URL}/redoc.standalone.js"></script>\n',
        )

    @app.get(ASSETS_URL + "/{name}", include_in_schema=False)
    async def asset(name: str, request: Request) -> Response:
        if name == "init.js":
            (content, etag), media_type = init_script, "text/javascript; charset=utf-8"
        elif name in ASSET_TYPES:
            (content, etag), media_type = _asset(name), ASSET_TYPES[name]
        else:
            raise HTTPException(status_code=404, detail=f"no documentation asset '{name}'")
        headers = {"ETag": etag, "Cache-Control": CACHE_ASSETS}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(content, media_type=media_type, headers=headers)
