"""Hold the client against the server's OpenAPI document: every route's path and method exist, every field the
client sends or reads is in the schema, every field the server requires is sent, every answer field the client
counts on is one the server always sends, and the Idempotency-Key goes exactly where the server takes one; an
upload's form fields, the query parameters a route names and a download's file answer are held too; `uncovered`
lists the server's /v1 operations the client has no route for.

    python -m coalition_client.check http://127.0.0.1:8000/openapi.json   (or a saved file)

tests/client/test_client_matches_openapi.py runs `problems` against the app itself, so CI fails on drift.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Union

from coalition_client.routes import Route, all_routes

Json = dict[str, Any]


def _resolve(spec: Json, schema: Json) -> Json:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _object_schema(spec: Json, schema: Json) -> Json | None:
    """The object schema inside a property's schema ($ref, anyOf with null, array items), if there is one."""
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return _object_schema(spec, schema.get("items", {}))
    for option in schema.get("anyOf", []):
        found = _object_schema(spec, option)
        if found is not None:
            return found
    return schema if "properties" in schema else None


def _dataclass_in(kind: Any) -> type | None:
    """The dataclass a field's type holds (X, X | None, list[X]), if any."""
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return kind
    for arg in typing.get_args(kind):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None


def _optional(kind: Any) -> bool:
    return typing.get_origin(kind) in (Union, types.UnionType) and type(None) in typing.get_args(kind)


_JSON_TYPES: dict[Any, set[str]] = {
    int: {"integer"},
    str: {"string"},
    bool: {"boolean"},
    Decimal: {"string"},  # money travels as a decimal string
    datetime: {"string"},
    date: {"string"},
}


def _schema_types(spec: Json, schema: Json) -> set[str]:
    schema = _resolve(spec, schema)
    if "anyOf" in schema:
        return set().union(*(_schema_types(spec, option) for option in schema["anyOf"]))
    return {schema["type"]} if isinstance(schema.get("type"), str) else set()


def _wrong_type(spec: Json, kind: Any, schema: Json) -> str | None:
    """The client's scalar type against the schema's JSON types (objects and arrays are checked field by field)."""
    union = typing.get_origin(kind) in (Union, types.UnionType)
    options = [arg for arg in (typing.get_args(kind) if union else (kind,)) if arg is not type(None)]
    wanted: set[str] = set()
    for option in options:
        origin = typing.get_origin(option)
        wanted |= {"array"} if origin is list else {"object"} if origin is dict else _JSON_TYPES.get(option, set())
    given = _schema_types(spec, schema) - {"null"}
    if not wanted or not given or wanted & given:
        return None
    return f"the client reads {sorted(wanted)} where the server sends {sorted(given)}"


def _fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name != "extra"}


def _check_body(spec: Json, where: str, cls: type, schema: Json) -> list[str]:
    problems = []
    properties, required = schema.get("properties", {}), set(schema.get("required", []))
    fields = _fields(cls)
    for name in sorted(set(fields) - set(properties)):
        problems.append(f"{where}: sends {cls.__name__}.{name}, which the schema does not have")
    for name in sorted(required):
        if name not in fields:
            problems.append(f"{where}: never sends required field {name}")
        elif _optional(fields[name]):
            problems.append(f"{where}: {cls.__name__}.{name} may be left out but the schema requires it")
    for name, kind in fields.items():
        inner, sub = _dataclass_in(kind), properties.get(name)
        if inner is not None and sub is not None and (subschema := _object_schema(spec, sub)) is not None:
            problems += _check_body(spec, f"{where}.{name}", inner, subschema)
    return problems


def _check_answer(spec: Json, where: str, cls: type, schema: Json) -> list[str]:
    problems = []
    properties, required = schema.get("properties", {}), set(schema.get("required", []))
    for name, kind in _fields(cls).items():
        if name not in properties:
            problems.append(f"{where}: reads {cls.__name__}.{name}, which the answer's schema does not have")
            continue
        if name not in required and not _optional(kind):
            problems.append(f"{where}: {cls.__name__}.{name} is counted on but the server may leave it out")
        if (mismatch := _wrong_type(spec, kind, properties[name])) is not None:
            problems.append(f"{where}: {cls.__name__}.{name}: {mismatch}")
        inner = _dataclass_in(kind)
        if inner is not None:
            subschema = _object_schema(spec, properties[name])
            if subschema is None:
                problems.append(f"{where}.{name}: the schema does not describe its fields")
            else:
                problems += _check_answer(spec, f"{where}.{name}", inner, subschema)
    return problems


def _check_upload(spec: Json, where: str, route: Route[Any], schema: Json | None) -> list[str]:
    """A multipart upload: the file's field and the body's fields are the form's, and every required one is sent."""
    if schema is None:
        return [f"{where}: uploads a file the server does not take as multipart/form-data"]
    schema = _resolve(spec, schema)
    properties, required = schema.get("properties", {}), set(schema.get("required", []))
    sent = {str(route.upload), *(_fields(route.body) if route.body not in (None, dict) else {})}
    problems = [
        f"{where}: sends the form field {name}, which the schema does not have"
        for name in sorted(sent)
        if name not in properties
    ]
    problems += [f"{where}: never sends required form field {name}" for name in sorted(required - sent)]
    return problems


def _check_file_answer(where: str, operation: Json) -> list[str]:
    """A download: the server answers a file (some media type other than JSON), which the client streams."""
    contents = operation.get("responses", {}).get("200", {}).get("content", {})
    if not any(media != "application/json" for media in contents):
        return [f"{where}: the server does not answer a file the client could stream"]
    return []


def _check_route(spec: Json, name: str, route: Route[Any]) -> list[str]:
    where = f"{name} ({route.method} {route.path})"
    operation = spec.get("paths", {}).get(route.path, {}).get(route.method.lower())
    if operation is None:
        return [f"{where}: no such operation in the server's API"]
    problems = []
    headers = {p["name"].lower(): p for p in operation.get("parameters", []) if p.get("in") == "header"}
    takes_key = "idempotency-key" in headers
    if route.idempotency_key and not takes_key:
        problems.append(f"{where}: sends an Idempotency-Key the server does not take (its retries could double)")
    if takes_key and headers["idempotency-key"].get("required") and not route.idempotency_key:
        problems.append(f"{where}: the server requires an Idempotency-Key the client does not send")
    path_names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
    placeholders = {part.split("}")[0] for part in route.path.split("{")[1:]}
    if path_names != placeholders:
        problems.append(f"{where}: path parameters {sorted(placeholders)} ≠ the server's {sorted(path_names)}")
    query_names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    for name in route.query:
        if name not in query_names:
            problems.append(f"{where}: sends the query parameter {name}, which the server does not take")
    request = operation.get("requestBody")
    media = "multipart/form-data" if route.upload else "application/json"
    body_schema = (request or {}).get("content", {}).get(media, {}).get("schema")
    if route.upload:
        problems += _check_upload(spec, where, route, body_schema)
    elif route.body is None:
        if request is not None and request.get("required"):
            problems.append(f"{where}: the server requires a body the client does not send")
    elif route.body is not dict:
        if body_schema is None:
            problems.append(f"{where}: sends a body the server does not describe")
        else:
            # an optional body is `anyOf: [its schema, null]`: its fields are the schema's
            body_object = _object_schema(spec, body_schema) or _resolve(spec, body_schema)
            problems += _check_body(spec, where, route.body, body_object)
    if route.answer is bytes:
        problems += _check_file_answer(where, operation)
    elif route.answer is not dict:
        answers = [a for status, a in operation.get("responses", {}).items() if status.startswith("2")]
        schemas = [a.get("content", {}).get("application/json", {}).get("schema") for a in answers]
        found = [_object_schema(spec, s) for s in schemas if s]
        if not any(found):
            problems.append(f"{where}: the server does not describe the answer the client reads")
        else:
            problems += _check_answer(spec, where, route.answer, next(f for f in found if f))
    return problems


def problems(spec: Json) -> list[str]:
    """Every way the client and this OpenAPI document disagree; empty when they match."""
    found: list[str] = []
    for name, route in sorted(all_routes().items()):
        found += _check_route(spec, name, route)
    return found


_METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: Json, prefix: str = "/v1/") -> set[tuple[str, str]]:
    """Every operation of the document under `prefix`, as (METHOD, path)."""
    return {
        (method.upper(), path)
        for path, item in spec.get("paths", {}).items()
        if path.startswith(prefix)
        for method in item
        if method in _METHODS
    }


def uncovered(spec: Json, excluded: typing.Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The document's /v1 operations no route of the client calls (and not `excluded`): a new server route the
    client lacks, which tests/client/test_client_matches_openapi.py fails on."""
    covered = {(route.method, route.path) for route in all_routes().values()}
    return sorted(operations(spec) - covered - set(excluded))


def main(argv: list[str]) -> int:
    source = argv[1] if len(argv) > 1 else "http://127.0.0.1:8000/openapi.json"
    if source.startswith(("http://", "https://")):
        import httpx

        spec = httpx.get(source, timeout=30).raise_for_status().json()
    else:
        spec = json.loads(Path(source).read_text())
    found = problems(spec)
    for line in found:
        print(line)
    for method, path in uncovered(spec):
        print(f"note: {method} {path} has no route in the client (a newer server?)")
    print(f"{len(all_routes())} routes checked, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
