"""Money and time columns round-trip exactly; payloads become plain JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.exc import StatementError
from sqlalchemy.schema import CreateTable

from papertrader.domain.types import Fill, OrderStatus, Side
from papertrader.persistence import Money, UTCDateTime, make_engine, to_jsonable

META = MetaData()
SAMPLES = Table(
    "samples",
    META,
    Column("id", Integer, primary_key=True),
    Column("amount", Money(), nullable=True),
    Column("at", UTCDateTime(), nullable=True),
)


@pytest.fixture(scope="module")
def mem_engine() -> Iterator[Engine]:
    eng = make_engine("sqlite://")
    META.create_all(eng)
    yield eng
    eng.dispose()


def _roundtrip_amount(engine: Engine, amount: Decimal | None) -> Decimal | None:
    with engine.begin() as conn:
        new_id = conn.execute(insert(SAMPLES).values(amount=amount).returning(SAMPLES.c.id)).scalar_one()
        value: Decimal | None = conn.execute(select(SAMPLES.c.amount).where(SAMPLES.c.id == new_id)).scalar()
        return value


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("100000.0000001"),
        Decimal("0.1") + Decimal("0.2"),
        Decimal("-12345678901234567890.123456789012345"),
        Decimal("1.50"),
        Decimal("0"),
        Decimal("1E-12"),
    ],
)
def test_money_round_trip_is_exact_on_sqlite(mem_engine: Engine, amount: Decimal) -> None:
    loaded = _roundtrip_amount(mem_engine, amount)
    assert isinstance(loaded, Decimal)
    assert loaded == amount
    assert loaded.as_tuple().exponent == amount.as_tuple().exponent  # even the scale survives


def test_money_sum_of_tenths_is_exactly_three_tenths(mem_engine: Engine) -> None:
    assert _roundtrip_amount(mem_engine, Decimal("0.1") + Decimal("0.2")) == Decimal("0.3")


def test_money_is_stored_as_text_on_sqlite_not_float(mem_engine: Engine) -> None:
    _roundtrip_amount(mem_engine, Decimal("100000.0000001"))
    with mem_engine.connect() as conn:
        kinds = set(conn.execute(text("SELECT typeof(amount) FROM samples WHERE amount IS NOT NULL")).scalars())
    assert kinds == {"text"}


@settings(max_examples=150, deadline=None)
@given(st.decimals(min_value=Decimal("-1e15"), max_value=Decimal("1e15"), allow_nan=False, places=10))
def test_money_round_trip_is_exact_for_any_amount(mem_engine: Engine, amount: Decimal) -> None:
    assert _roundtrip_amount(mem_engine, amount) == amount


def test_money_null_round_trips_as_none(mem_engine: Engine) -> None:
    assert _roundtrip_amount(mem_engine, None) is None


@pytest.mark.parametrize("bad", [0.1, float("nan"), Decimal("NaN"), Decimal("Infinity"), True, "1.5"])
def test_money_refuses_floats_and_non_finite_values(mem_engine: Engine, bad: object) -> None:
    with pytest.raises(StatementError):
        _roundtrip_amount(mem_engine, bad)  # type: ignore[arg-type]


def test_money_uses_numeric_28_10_on_other_databases() -> None:
    pg = PGDialect()  # type: ignore[no-untyped-call]
    ddl = str(CreateTable(SAMPLES).compile(dialect=pg))
    assert "NUMERIC(28, 10)" in ddl
    assert "TIMESTAMP WITH TIME ZONE" in ddl
    assert Money().process_bind_param(Decimal("1.5"), pg) == Decimal("1.5")
    assert "amount TEXT" in str(CreateTable(SAMPLES).compile(dialect=SQLiteDialect()))


def test_aware_datetimes_round_trip_as_utc(mem_engine: Engine) -> None:
    toronto_winter = timezone(timedelta(hours=-5))
    at = datetime(2024, 3, 8, 9, 30, 15, 123456, tzinfo=toronto_winter)
    with mem_engine.begin() as conn:
        new_id = conn.execute(insert(SAMPLES).values(at=at).returning(SAMPLES.c.id)).scalar_one()
        loaded = conn.execute(select(SAMPLES.c.at).where(SAMPLES.c.id == new_id)).scalar_one()
    assert loaded == at
    assert loaded.tzinfo is UTC
    assert loaded == datetime(2024, 3, 8, 14, 30, 15, 123456, tzinfo=UTC)


def test_naive_datetimes_are_refused(mem_engine: Engine) -> None:
    with pytest.raises(StatementError, match="naive"), mem_engine.begin() as conn:
        conn.execute(insert(SAMPLES).values(at=datetime(2024, 1, 1, 12)))


def test_to_jsonable_converts_decimal_datetime_enum_dataclass_numpy() -> None:
    ts = datetime(2024, 1, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    fill = Fill("o1", "AAPL", Side.BUY, 3, Decimal("185.1234"), Decimal("0.35"), ts, seq=4)
    payload = {
        "cash": Decimal("100000.0000001"),
        "tiny": Decimal("1E-7"),
        "at": ts,
        "day": date(2024, 1, 2),
        "status": OrderStatus.FILLED,
        "fill": fill,
        "weights": np.array([0.5, 0.25]),
        "n": np.int64(3),
        "x": np.float32(0.5),
        "bad": float("nan"),
        "tags": {"b", "a"},
        "pair": (1, "z"),
        Side.SELL: "enum key",
        "wait": timedelta(minutes=1),
    }
    out = to_jsonable(payload)
    assert out == {
        "cash": "100000.0000001",
        "tiny": "0.0000001",
        "at": "2024-01-02T14:30:00+00:00",
        "day": "2024-01-02",
        "status": "filled",
        "fill": {
            "order_id": "o1",
            "symbol": "AAPL",
            "side": "buy",
            "qty": 3,
            "price": "185.1234",
            "fee": "0.35",
            "ts": "2024-01-02T14:30:00+00:00",
            "seq": 4,
        },
        "weights": [0.5, 0.25],
        "n": 3,
        "x": 0.5,
        "bad": None,
        "tags": ["a", "b"],
        "pair": [1, "z"],
        "sell": "enum key",
        "wait": 60.0,
    }
    json.dumps(out, allow_nan=False)  # strictly valid JSON


def test_to_jsonable_refuses_unknown_objects_loudly() -> None:
    with pytest.raises(TypeError, match="cannot store object"):
        to_jsonable({"thing": object()})
