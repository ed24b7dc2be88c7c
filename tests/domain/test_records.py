"""`fast_init`: the frozen records' faster constructor behaves as the dataclass's own `__init__`."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError, InitVar, dataclass, field, replace

import pytest

from coalition.domain.ledger import Posting, Transaction, TransactionKind
from coalition.domain.records import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class _Record:
    name: str
    count: int = 1
    tags: tuple[str, ...] = field(default_factory=tuple)
    extra: list[int] = field(default_factory=list, compare=False)


@dataclass(frozen=True, slots=True)
class _Plain:
    name: str
    count: int = 1
    tags: tuple[str, ...] = field(default_factory=tuple)
    extra: list[int] = field(default_factory=list, compare=False)


def test_it_takes_the_same_arguments_and_defaults_as_the_dataclass_init() -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = [
        (("a",), {}),
        (("a", 3), {}),
        ((), {"name": "b", "tags": ("x",)}),
        (("c", 2, ("y",), [1]), {}),
    ]
    for args, kwargs in calls:
        fast, plain = _Record(*args, **kwargs), _Plain(*args, **kwargs)  # type: ignore[arg-type]
        assert (fast.name, fast.count, fast.tags, fast.extra) == (plain.name, plain.count, plain.tags, plain.extra)
    assert _Record("a").extra is not _Record("a").extra  # a factory called per instance, as the dataclass does


def test_it_refuses_the_same_calls() -> None:
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = [
        ((), {}),
        (("a",), {"name": "b"}),
        (("a",), {"other": 1}),
        (("a", 1, (), [], 5), {}),
    ]
    for args, kwargs in calls:
        with pytest.raises(TypeError):
            _Plain(*args, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            _Record(*args, **kwargs)  # type: ignore[arg-type]


def test_the_record_stays_frozen_equal_hashable_replaceable_and_picklable() -> None:
    record = _Record("a", 2, ("t",))
    with pytest.raises(FrozenInstanceError):
        record.name = "b"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del record.count
    assert record == _Record("a", 2, ("t",), [9])  # `extra` is not compared
    assert hash(record) == hash(_Record("a", 2, ("t",)))
    assert replace(record, count=5) == _Record("a", 5, ("t",))
    assert pickle.loads(pickle.dumps(record)) == record
    assert copy.copy(record) == record
    assert repr(Posting(1, "points:demo", -5)) == "Posting(account_id=1, asset='points:demo', amount=-5)"
    assert not hasattr(record, "__dict__")


def test_the_ledgers_records_keep_their_defaults() -> None:
    tx = Transaction(TransactionKind.PURCHASE, (Posting(1, "p", -1), Posting(2, "p", 1)))
    assert (tx.reverses_tx_id, tx.memo) == (None, "")
    assert tx == Transaction(TransactionKind.PURCHASE, (Posting(1, "p", -1), Posting(2, "p", 1)), None, "")


def test_it_refuses_what_it_would_not_copy_exactly() -> None:
    with pytest.raises(TypeError, match="__post_init__"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class _Checked:
            value: int

            def __post_init__(self) -> None:
                pass

    with pytest.raises(TypeError, match="frozen"):

        @fast_init
        @dataclass(slots=True)
        class _Mutable:
            value: int

    with pytest.raises(TypeError, match="frozen"):

        @fast_init
        @dataclass(frozen=True)
        class _NoSlots:
            value: int

    with pytest.raises(TypeError, match="fields"):

        @fast_init
        @dataclass(frozen=True, slots=True, kw_only=True)
        class _KeywordOnly:
            value: int

    with pytest.raises(TypeError, match="fields"):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class _Hidden:
            value: int
            cached: int = field(default=0, init=False)

    with pytest.raises(TypeError):

        @fast_init
        @dataclass(frozen=True, slots=True)
        class _WithInitVar:
            value: int
            seed: InitVar[int] = 0
