"""A faster constructor for the frozen records a purchase builds by the dozen (postings, lots, quotes, decisions).

`@dataclass(frozen=True, slots=True)` sets each field in `__init__` through `object.__setattr__(self, name, value)`:
a call that looks the name up in the class on every field, because the class's own `__setattr__` refuses. A batch of
purchases builds ~28 such records a purchase (~170 fields); measured at 17 % of a batch's server CPU
(docs/benchmarks.md, 2026-12-06 21:35). `fast_init` gives such a class an `__init__` that sets each slot through its
own slot descriptor (`Class.field.__set__`), found once when the class is made: about half the cost per field, and
nothing else changes — the same signature, defaults and default factories, the same frozen refusals, equality, hash,
`repr`, `replace` and pickling.

It applies only to what it can copy exactly: a frozen dataclass with slots whose every field is a plain
positional-or-keyword parameter of its `__init__`, without `__post_init__`; anything else is refused when the class is
made (a TypeError at import), never silently changed.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, TypeVar

T = TypeVar("T")

_NO_VALUE = object()  # a default factory's parameter left out


def fast_init(cls: type[T]) -> type[T]:
    """`cls` with an `__init__` that sets its slots directly (see the module's docstring); decorate above
    `@dataclass(frozen=True, slots=True)`."""
    params = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    _require_plain(cls, params)
    namespace: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    signature, body = [], []
    for index, each in enumerate(params):
        namespace[f"_set_{index}"] = getattr(cls, each.name).__set__
        value = each.name
        if each.default is not dataclasses.MISSING:
            namespace[f"_default_{index}"] = each.default
            signature.append(f"{each.name}=_default_{index}")
        elif each.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{index}"] = each.default_factory
            signature.append(f"{each.name}=_NO_VALUE")
            value = f"_factory_{index}() if {each.name} is _NO_VALUE else {each.name}"
        else:
            signature.append(each.name)
        body.append(f"    _set_{index}(self, {value})\n")
    source = "def __init__(self, " + ", ".join(signature) + "):\n" + ("".join(body) or "    pass\n")
    exec(source, namespace)  # built above from the class's own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    init.__annotations__ = dict(getattr(cls.__init__, "__annotations__", {}))
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def _require_plain(cls: type, params: tuple[dataclasses.Field[Any], ...]) -> None:
    """Refuse what the generated `__init__` would not copy exactly."""
    name = cls.__qualname__
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"fast_init: {name} is not a dataclass")
    options = cls.__dataclass_params__  # type: ignore[attr-defined]
    if not options.frozen or not options.init or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init: {name} must be @dataclass(frozen=True, slots=True) with its own __init__")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"fast_init: {name} has a __post_init__, which the generated __init__ would not call")
    expected = [each.name for each in params]
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    if [p.name for p in parameters] != expected or any(
        p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters
    ):
        raise TypeError(f"fast_init: {name}'s __init__ takes more than its fields, positionally or by keyword")
