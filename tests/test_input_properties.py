"""Property tests: whatever the input bytes, the loader and job-file reader never crash, and good orders survive."""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batch_runner.config import Settings, load_settings
from batch_runner.core.model import InvalidOrder, Order
from batch_runner.errors import ConfigError, InputError
from batch_runner.load import iter_orders
from batch_runner.load_csv import KNOWN_COLUMNS, REQUIRED_COLUMNS
from batch_runner.load_fields import (
    BILLING_REQUIRED,
    BUYER_FIELDS,
    BUYER_REQUIRED,
    MAX_FIELD,
    MAX_QUANTITY,
)

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


def load_bytes(data: bytes, suffix: str) -> list[Order | InvalidOrder] | InputError:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"in{suffix}"
        path.write_bytes(data)
        try:
            return list(iter_orders(path))
        except InputError as exc:
            return exc


@FAST
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".jsonl", ".txt"]))
def test_random_bytes_never_crash_the_loader(data: bytes, suffix: str) -> None:
    """Any bytes: either one InputError for the whole file, or entries with a file and a line >= 1."""
    result = load_bytes(data, suffix)
    if isinstance(result, InputError):
        return
    for entry in result:
        if isinstance(entry, InvalidOrder):
            assert entry.line >= 1
            assert entry.file.endswith(suffix)


good_order = st.fixed_dictionaries({
    "product_id": st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True),
    "quantity": st.integers(1, 10_000),
    "marketplace": st.sampled_from(["AMAZON", "shopify", "Amazon"]),
    # No line breaks: csv.writer leaves a bare "\r" unquoted, which is malformed CSV (see test_loader_cases
    # for quoted newlines).
    "first_name": text.filter(lambda s: s.strip() != "" and s == s.strip() and not {"\r", "\n"} & set(s)),
})
bad_quantity = st.one_of(st.integers(max_value=0).map(str), st.sampled_from(["1.5", "two", "", "1e3", " ", "-0"]),
                         st.integers(10_001, 10**30).map(str))


@FAST
@given(orders=st.lists(good_order, min_size=1, max_size=8), bad=st.lists(bad_quantity, max_size=4),
       crlf=st.booleans(), bom=st.booleans(), shuffle=st.randoms())
def test_good_orders_all_load_between_bad_ones_with_columns_in_any_order(
    orders: list[dict[str, object]], bad: list[str], crlf: bool, bom: bool, shuffle: object
) -> None:
    """Every good order comes out unchanged; every bad one is INVALID on its own line; column order is free."""
    columns = [*REQUIRED_COLUMNS, "extra_column"]
    shuffle.shuffle(columns)  # type: ignore[attr-defined]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n" if crlf else "\n")
    writer.writeheader()
    expected_good, expected_bad_lines = [], []
    rows: list[tuple[str, dict[str, object]]] = [("good", o) for o in orders] + [("bad", {"quantity": q}) for q in bad]
    shuffle.shuffle(rows)  # type: ignore[attr-defined]
    for n, (kind, values) in enumerate(rows):
        base = {"order_id": f"O{n}", "marketplace": "AMAZON", "product_id": "B1", "quantity": 1,
                "first_name": "Ada", "last_name": "L", "email": "a@x", "address1": "1 St", "city": "C",
                "postal_code": "1", "country_code": "US", "extra_column": "x"}
        base.update(values)
        writer.writerow(base)
        if kind == "good":
            expected_good.append((f"O{n}", str(base["product_id"]), int(str(base["quantity"]))))
        else:
            expected_bad_lines.append(f"O{n}")
    data = out.getvalue().encode()
    result = load_bytes((b"\xef\xbb\xbf" if bom else b"") + data, ".csv")
    assert not isinstance(result, InputError)
    good = [(e.order_id, e.items[0].product_id, e.items[0].quantity) for e in result if isinstance(e, Order)]
    invalid = [e.order_id for e in result if isinstance(e, InvalidOrder)]
    assert good == expected_good
    assert invalid == expected_bad_lines


@FAST
@given(lines=st.lists(st.one_of(
    st.text(max_size=40),
    st.builds(lambda q: f'{{"order_id": "X", "buyer": {{}}, "items": [{{"marketplace": "AMAZON", "product_id": "B", "quantity": {q}}}]}}',
              st.sampled_from(["0", "-1", "1.5", "true", '"1"', "null", "1e400"])),
), max_size=10))
def test_random_jsonl_never_crashes(lines: list[str]) -> None:
    """Random JSONL lines: every non-blank line is an order or an INVALID entry with its line."""
    result = load_bytes("\n".join(lines).encode("utf-8", "surrogatepass"), ".jsonl")
    assert not isinstance(result, InputError)
    for entry in result:
        assert entry.line >= 1


toml_value = st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
                       st.booleans(), text, st.lists(st.integers(), max_size=3))


@FAST
@given(table=st.dictionaries(st.sampled_from(["strict_rps", "default-rps", "poll_interval", "max_replacements",
                                               "progress", "log_format", "stict_rps", "out", "quiet", "deadline",
                                               "api_key", "never_started_after"]), toml_value, max_size=5))
def test_any_job_file_gives_settings_or_a_config_error(table: dict[str, object]) -> None:
    """A job file of any keys and values yields Settings or one ConfigError naming the file."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.toml"
        job.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in table.items()) + "\n")
        try:
            loaded = load_settings(job_file=job, overrides={}, env={})
        except ConfigError as exc:
            message = str(exc)
        else:
            assert isinstance(loaded, Settings)
            return
    assert str(job) in message


# ------------------------------------------------------------------ CSV files built from a model
#
# Each generated file is a list of entries: orders (good, or with exactly one known defect) and
# order-less rows. The test knows, for every entry, what the loader must give: the Order with its
# items and buyer, or an InvalidOrder with order_id, line and field. Lines are physical, 1-based,
# header = line 1, counted in the bytes written (quoted newlines included).

CELL = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r"), max_size=10)
FILLED = st.builds(lambda a, b, c: a + b + c, CELL, st.sampled_from("AzÉ字9-"), CELL)
GOOD_QUANTITY = st.builds(lambda pad, zeros, n: f"{pad}{'0' * zeros}{n}{pad}",
                          st.sampled_from(["", " ", "\t"]), st.integers(0, 2), st.integers(1, MAX_QUANTITY))
BAD_QUANTITY = st.one_of(
    st.sampled_from(["1.5", "-1", "0", "00", "1e3", "99999999999999999999", " 2.0 ", "+2", "\uff12", "\u00b2", "\u0661",
                     "1_000", "0x10", "", "  ", "NaN", "1" * 5000, str(MAX_QUANTITY + 1), "1 2"]),
    st.integers(max_value=0).map(str),
    st.integers(MAX_QUANTITY + 1, 10**40).map(str),
    CELL.filter(lambda s: not re.fullmatch(r"[0-9]+", s.strip())),
)
MARKET = st.sampled_from(["AMAZON", "amazon", "Shopify", " SHOPIFY "])
BAD_MARKET = CELL.filter(lambda s: s.strip().upper() not in ("AMAZON", "SHOPIFY"))
OPTIONAL = ["phone", "address2", "province_code", "payment_token", "billing"]
BILLING = [f"billing_{n}" for n in BUYER_FIELDS]
EXTRA_NAME = st.from_regex(r" ?[a-z_]{0,7} ?", fullmatch=True).filter(lambda c: c.strip() not in KNOWN_COLUMNS)
KINDS = ["good", "good", "good", "quantity", "marketplace", "product_id", "missing_buyer", "differs",
         "latin1", "huge", "interrupted", "no_order_id", "duplicate"]


def _spell(draw: st.DrawFn, name: str) -> str:
    """A header cell naming `name`: any case, maybe padded."""
    cased = draw(st.sampled_from([name, name.upper(), name.title()]))
    return draw(st.sampled_from(["", " "])) + cased + draw(st.sampled_from(["", " "]))


@st.composite
def csv_header(draw: st.DrawFn) -> list[str]:
    """Required columns, some optional ones, unknown extras (maybe blank or repeated), any order."""
    optional = draw(st.sets(st.sampled_from(OPTIONAL)))
    columns = [*REQUIRED_COLUMNS, *(o for o in optional if o != "billing"),
               *(BILLING if "billing" in optional else []), *draw(st.lists(EXTRA_NAME, max_size=3))]
    return draw(st.permutations(columns))


def _write(values: list[str], terminator: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=terminator).writerow(values)
    return out.getvalue()


@dataclass
class CsvFile:
    data: bytes
    expected: Counter[tuple[object, ...]]


def _spoil(draw: st.DrawFn, kind: str, rows: list[dict[str, str]], k: int) -> tuple[str | None, int]:
    """Give the order its one defect; the field the loader must name, and the row it is on."""
    field: str | None = None
    match kind:
        case "quantity" | "marketplace" | "product_id":
            field = kind
            bad = {"quantity": BAD_QUANTITY, "marketplace": BAD_MARKET,
                   "product_id": st.sampled_from(["", " ", "\t"])}[kind]
            rows[k][kind] = draw(bad)
        case "missing_buyer":
            field, k = draw(st.sampled_from(BUYER_REQUIRED)), 0
            for row in rows:
                row[field] = draw(st.sampled_from(["", " "]))
        case "differs":
            field = draw(st.sampled_from(BUYER_REQUIRED))
            rows[k][field] = rows[0][field] + draw(FILLED)
        case "huge":  # over MAX_FIELD, and over the csv module's default 128 KiB field limit
            field = draw(st.sampled_from([*BUYER_REQUIRED, "product_id", *(["payment_token"] if "payment_token" in rows[k] else [])]))
            rows[k][field] = "x" * draw(st.sampled_from([MAX_FIELD + 1, 150_000]))
    return field, k


@st.composite
def csv_file(draw: st.DrawFn) -> CsvFile:  # noqa: C901  # one generator, a branch per entry kind
    columns = draw(csv_header())
    names = [c.strip() for c in columns]
    terminator = draw(st.sampled_from(["\n", "\r\n"]))
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + _write(
        [_spell(draw, c) if c in KNOWN_COLUMNS else c for c in columns], terminator).encode()
    expected: Counter[tuple[object, ...]] = Counter()
    kinds = draw(st.lists(st.sampled_from(KINDS), max_size=6))
    first_id: str | None = None
    prev_id: str | None = None  # the order just before, None after an order-less row

    def add_row(cells: dict[str, str], encoding: str = "utf-8") -> int:
        nonlocal data
        line = data.count(b"\n") + 1
        data += _write([cells.get(n, "") for n in names], terminator).encode(encoding)
        return line

    for n, kind in enumerate(kinds):
        data += draw(st.sampled_from([b"", b"\n", b" , \n"]))  # blank lines between entries are skipped
        extras = {c: draw(CELL) for c in names if c not in KNOWN_COLUMNS}
        if kind == "no_order_id":
            line = add_row({**extras, "order_id": draw(st.sampled_from(["", "  "])), "marketplace": "AMAZON"})
            expected[("INVALID", None, line, "order_id")] += 1
            prev_id = None
            continue
        if kind == "duplicate" and (prev_id is None or prev_id == first_id):
            kind = "good"  # a duplicate needs another order between it and the first
        order_id = first_id if kind == "duplicate" and first_id else f"O-{n}"
        first_id, prev_id = first_id or order_id, order_id
        buyer = {f: draw(FILLED) for f in BUYER_REQUIRED}
        buyer |= {f: draw(CELL) for f in BUYER_FIELDS if f not in BUYER_REQUIRED and f in names}
        if "payment_token" in names:
            buyer["payment_token"] = draw(CELL)
        if "billing_city" in names and draw(st.booleans()):
            buyer |= {f"billing_{f}": draw(FILLED) for f in BUYER_FIELDS}
        size = draw(st.integers(2 if kind in ("differs", "interrupted") else 1, 3))
        rows = [{**extras, **buyer, "order_id": draw(st.sampled_from(["", " "])) + order_id,
                 "marketplace": draw(MARKET), "product_id": draw(FILLED), "quantity": draw(GOOD_QUANTITY)}
                for _ in range(size)]
        k = draw(st.integers(1 if kind in ("differs", "interrupted") else 0, size - 1))
        field, k = _spoil(draw, kind, rows, k)
        lines = []
        for i, row in enumerate(rows):
            if kind == "latin1" and i == k:  # the row in Latin-1: ASCII but one ü
                ascii_row = {c: v.encode("ascii", "ignore").decode() for c, v in row.items()}
                lines.append(add_row({**ascii_row, "city": "M\xfcnchen"}, "latin-1"))
            else:
                lines.append(add_row(row))
            if kind == "interrupted" and i == k - 1:
                gap = add_row({**extras, "order_id": "", "marketplace": "AMAZON"})
                expected[("INVALID", None, gap, "order_id")] += 1
        if kind == "good":
            items = tuple((r["marketplace"].strip().upper(), r["product_id"].strip(), int(r["quantity"]))
                          for r in rows)
            billing = buyer.get("billing_first_name", "").strip() or None
            expected[("ORDER", order_id, lines[0], items, rows[0]["first_name"].strip(),
                      rows[0].get("address2", "").strip() or None, buyer.get("payment_token", "").strip() or None,
                      billing)] += 1
        elif kind == "duplicate":
            expected[("INVALID", order_id, lines[0], "order_id")] += 1
        elif kind == "interrupted":
            expected[("INVALID", order_id, gap, None)] += 1
        else:
            expected[("INVALID", order_id, lines[k], field)] += 1
    if data.endswith(terminator.encode()) and draw(st.booleans()):
        data = data[: -len(terminator)]  # no line break after the last row
    return CsvFile(data, expected)


def _seen(entry: Order | InvalidOrder) -> tuple[object, ...]:
    if isinstance(entry, InvalidOrder):
        return ("INVALID", entry.order_id, entry.line, entry.field)
    items = tuple((i.marketplace.value, i.product_id, i.quantity) for i in entry.items)
    return ("ORDER", entry.order_id, entry.line, items, entry.buyer.first_name, entry.buyer.address2,
            entry.payment_token, entry.billing.first_name if entry.billing else None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=csv_file())
def test_generated_csv_every_good_order_once_every_bad_one_invalid_at_its_line(generated: CsvFile) -> None:
    """Random CSV (columns in any order and case, extras, BOM, CRLF, quoted newlines, blank lines,
    Latin-1 rows, huge fields, bad quantities and markets, missing or conflicting buyer fields,
    order-less rows, duplicates): each good order loads exactly once with its items and buyer;
    each bad one is INVALID with its file, physical line and field; nothing raises."""
    _loads_as_expected(generated.data, "orders.csv", generated.expected)


# ------------------------------------------------------------------ JSONL files built from a model

JSON_JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | CELL,
                         lambda inner: st.lists(inner, max_size=3) | st.dictionaries(CELL, inner, max_size=3),
                         max_leaves=8)
NOT_TEXT = st.sampled_from([1, 1.5, True, [1], {"a": 1}])
BAD_JSON_QUANTITY = st.sampled_from(["1", " 2", 1.0, 1.5, True, False, None, 0, -1, 10**20, 10**30, [1],
                                     {"n": 1}, MAX_QUANTITY + 1])
JSONL_KINDS = ["good", "good", "good", "not_json", "not_object", "not_utf8", "order_id", "buyer", "buyer_field",
               "items", "item", "quantity", "marketplace", "product_id", "billing", "huge", "huge", "duplicate"]


@dataclass
class JsonlFile:
    data: bytes
    expected: Counter[tuple[object, ...]]


def _good_record(draw: st.DrawFn, order_id: str | int) -> dict[str, object]:
    record: dict[str, object] = {
        "order_id": order_id,
        "buyer": {f: draw(FILLED) for f in BUYER_REQUIRED} | {f: draw(CELL) for f in draw(st.sets(st.sampled_from(
            [f for f in BUYER_FIELDS if f not in BUYER_REQUIRED])))},
        "items": [{"marketplace": draw(MARKET), "product_id": draw(FILLED | st.integers(1, 10**12)),
                   "quantity": draw(st.integers(1, MAX_QUANTITY)), **draw(st.dictionaries(CELL, JSON_JUNK, max_size=1))}
                  for _ in range(draw(st.integers(1, 3)))],
        **draw(st.dictionaries(st.sampled_from(["note", "meta", "x"]), JSON_JUNK, max_size=2)),  # ignored keys
    }
    if draw(st.booleans()):
        record["payment_token"] = draw(st.none() | st.sampled_from(["", " ", "\t"]) | CELL)
    if draw(st.booleans()):
        record["billing"] = draw(st.none() | st.just({}) | st.fixed_dictionaries(dict.fromkeys(BILLING_REQUIRED, FILLED)))
    return record


def _spoil_record(draw: st.DrawFn, kind: str, record: dict[str, Any]) -> str | None:
    """Give the record its one defect; the field path the loader must name."""
    n = draw(st.integers(0, len(record["items"]) - 1))
    match kind:
        case "order_id":
            record["order_id"] = draw(st.sampled_from([None, "", "  ", True, 1.5, [1], {"a": "b"}, "o" * (MAX_FIELD + 1)]))
            return "order_id"
        case "buyer" | "buyer_field" | "huge":
            return _spoil_buyer(draw, kind, record)
        case "items":
            record["items"] = draw(st.sampled_from([None, [], {}, "B1", 1]))
            return "items"
        case "item":
            record["items"][n] = draw(st.sampled_from([None, "B1", 1, [], ["AMAZON", "B1", 1]]))
            return f"items[{n}]"
        case "quantity" | "marketplace" | "product_id":
            bad = {"quantity": BAD_JSON_QUANTITY, "marketplace": BAD_MARKET | NOT_TEXT | st.none(),
                   "product_id": st.sampled_from(["", " ", None, True, [1], 1.5, "p" * (MAX_FIELD + 1)])}[kind]
            record["items"][n][kind] = draw(bad)
            return f"items[{n}].{kind}"
        case "billing" if draw(st.booleans()):
            record["billing"] = draw(st.sampled_from(["", "x", [1], 1, True]))
            return "billing"
        case "billing":
            field = draw(st.sampled_from(BILLING_REQUIRED))
            record["billing"] = {f: "b" for f in BILLING_REQUIRED if f != field}
            return f"billing.{field}"
    raise AssertionError(kind)


def _spoil_buyer(draw: st.DrawFn, kind: str, record: dict[str, Any]) -> str:
    if kind == "buyer":
        record["buyer"] = draw(st.sampled_from([None, [], "Ada", 1, True]))
        return "buyer"
    if kind == "buyer_field":
        field = draw(st.sampled_from(BUYER_REQUIRED))
        record["buyer"][field] = draw(st.sampled_from([None, "", " "]) | NOT_TEXT)
        if draw(st.booleans()):
            del record["buyer"][field]
        return f"buyer.{field}"
    field = draw(st.sampled_from([*BUYER_REQUIRED, "payment_token", "product_id", "order_id"]))  # huge
    if field == "product_id":
        record["items"][0]["product_id"] = "p" * (MAX_FIELD + 1)
        return "items[0].product_id"
    if field in ("payment_token", "order_id"):
        record[field] = "t" * (MAX_FIELD + 1)
        return field
    record["buyer"][field] = "x" * draw(st.sampled_from([MAX_FIELD + 1, 200_000]))
    return f"buyer.{field}"


@st.composite
def jsonl_file(draw: st.DrawFn) -> JsonlFile:
    terminator = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    expected: Counter[tuple[object, ...]] = Counter()
    first_good: str | None = None
    for n, kind in enumerate(draw(st.lists(st.sampled_from(JSONL_KINDS), max_size=8))):
        data += draw(st.sampled_from([b"", terminator, b"  " + terminator]))  # blank lines are skipped
        line = data.count(b"\n") + 1
        if kind == "duplicate" and first_good is None:
            kind = "good"
        order_id: str | int = first_good if kind == "duplicate" and first_good else draw(st.sampled_from([f"J-{n}", n]))
        record = _good_record(draw, order_id)
        text = json.dumps(record, ensure_ascii=draw(st.booleans())).encode()
        field: str | None = None
        shown: str | None = str(order_id)
        match kind:
            case "good":
                first_good = first_good or str(order_id)
                items = tuple((i["marketplace"].strip().upper(), str(i["product_id"]).strip(), i["quantity"])
                              for i in record["items"])  # type: ignore[attr-defined]
                billing = record.get("billing") or None
                buyer: dict[str, str] = record["buyer"]  # type: ignore[assignment]
                expected[("ORDER", str(order_id), line, items, buyer["first_name"].strip(),
                          (buyer.get("address2") or "").strip() or None,
                          (record.get("payment_token") or "").strip() or None,  # type: ignore[attr-defined]
                          billing["first_name"].strip() if billing else None)] += 1  # type: ignore[index]
            case "duplicate":
                field = "order_id"
            case "not_json":
                text, shown = text[: draw(st.integers(1, len(text) - 1))], None
            case "not_object":
                text = json.dumps(draw(JSON_JUNK.filter(lambda v: not isinstance(v, dict)))).encode()
                shown = None
            case "not_utf8":
                text, shown = text.replace(b'"buyer"', b'"buy\xe9r"', 1), None
            case _:
                field = _spoil_record(draw, kind, record)
                text = json.dumps(record).encode()
                if field == "order_id":  # an order_id that is not one (wrong type, blank, huge)
                    shown = None
        data += text + terminator
        if kind != "good":
            expected[("INVALID", shown, line, field)] += 1
    return JsonlFile(data, expected)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(generated=jsonl_file())
def test_generated_jsonl_every_good_order_once_every_bad_one_invalid_at_its_line(generated: JsonlFile) -> None:
    """Random JSONL (BOM, CRLF, blank lines, ignored nested keys, truncated lines, non-objects,
    Latin-1 bytes, wrong types at every level, missing buyer fields, odd quantities, huge values,
    duplicates): each good order loads exactly once; each bad one is INVALID at its line and field path."""
    _loads_as_expected(generated.data, "orders.jsonl", generated.expected)


# ------------------------------------------------------------------ file-level cases

@FAST
@given(header=csv_header(), drop=st.sets(st.sampled_from(REQUIRED_COLUMNS), min_size=1), bom=st.booleans(),
       body=st.binary(max_size=200))
def test_missing_required_columns_are_one_input_error_naming_them(
    header: list[str], drop: set[str], bom: bool, body: bytes
) -> None:
    """Whatever else the header and body hold, missing required columns are one InputError naming each."""
    kept = [c for c in header if c.strip() not in drop]
    data = (b"\xef\xbb\xbf" if bom else b"") + ",".join(kept).encode() + b"\n" + body
    result = load_bytes(data, ".csv")
    assert isinstance(result, InputError)
    message = str(result)
    if not any(c.strip() for c in kept):
        assert "in.csv:1: line 1 is blank" in message
        return
    assert "in.csv:1: required columns missing: " in message
    assert set(message.split("missing: ")[1].split(" (the header")[0].split(", ")) == drop


@FAST
@given(header=csv_header(), twice=st.sampled_from(sorted(KNOWN_COLUMNS)), upper=st.booleans(), crlf=st.booleans())
def test_a_read_column_named_twice_is_one_input_error_naming_it(
    header: list[str], twice: str, upper: bool, crlf: bool
) -> None:
    """A header with a read column twice (any case) is refused, naming that column, whatever the rest."""
    columns = [*header, twice.upper() if upper else twice]
    if twice not in header:
        columns.append(twice)
    data = (",".join(columns) + ("\r\n" if crlf else "\n")).encode()
    result = load_bytes(data, ".csv")
    assert isinstance(result, InputError)
    assert "more than once" in str(result)
    assert f": {twice};" in str(result)


@FAST
@given(header=csv_header(), bom=st.booleans(), ending=st.sampled_from(["", "\n", "\r\n", "\n\n", "\r\n , ,\r\n"]))
def test_header_only_is_zero_orders_whatever_the_columns(header: list[str], bom: bool, ending: str) -> None:
    """A valid header and nothing else (blank lines at most) loads as no orders and no error."""
    data = (b"\xef\xbb\xbf" if bom else b"") + (",".join(header) + ending).encode()
    assert load_bytes(data, ".csv") == []


@FAST
@given(header=csv_header(), body=st.binary(max_size=600) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_body_after_a_good_header_never_raises(header: list[str], body: bytes) -> None:
    """After a usable header, no bytes can make the loader raise: every entry has a line inside the file."""
    data = ",".join(header).encode() + b"\n" + body
    result = load_bytes(data, ".csv")
    assert not isinstance(result, InputError)
    last_line = data.count(b"\n") + 1
    for entry in result:
        assert 2 <= entry.line <= last_line
        if isinstance(entry, InvalidOrder):
            assert entry.file.endswith("in.csv")


# ------------------------------------------------------------------ the quantity rule, alone

QUANTITY_TEXT = st.text(alphabet=st.sampled_from("0123456789 \t.-+e_,\uff12\u00b2\u0661\u09e8"), max_size=8) | st.one_of(
    st.integers(-(10**30), 10**30).map(str), st.just("1" * 5000), st.sampled_from(["NaN", "inf", "1e3", "0x10"]))


def _whole_in_range(text: str) -> bool:
    digits = text.strip()
    return bool(re.fullmatch(r"[0-9]{1,30}", digits)) and 1 <= int(digits) <= MAX_QUANTITY


@FAST
@given(quantity=QUANTITY_TEXT)
def test_a_csv_quantity_loads_only_as_ascii_digits_from_1_to_the_maximum(quantity: str) -> None:
    """A quantity cell is a whole number >= 1 in ASCII digits (padding allowed), at most MAX_QUANTITY;
    anything else (signs, decimals, exponents, full-width, superscript or other scripts' digits,
    thousands of digits) is INVALID naming `quantity`, and the next order still loads."""
    buyer = ["Ada", "Lovelace", "ada@example.com", "1 Main St", "Springfield", "12345", "US"]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([
        REQUIRED_COLUMNS, ["A", "AMAZON", "B1", quantity, *buyer], ["B", "AMAZON", "B1", "1", *buyer]])
    result = load_bytes(out.getvalue().encode(), ".csv")
    assert not isinstance(result, InputError)
    first, second = result
    if _whole_in_range(quantity):
        assert isinstance(first, Order)
        assert first.items[0].quantity == int(quantity)
    else:
        assert isinstance(first, InvalidOrder)
        assert (first.line, first.field) == (2, "quantity")
    assert isinstance(second, Order)
    assert second.line == 3


@FAST
@given(quantity=JSON_JUNK | st.integers(-(10**25), 10**25) | st.floats(allow_nan=False, allow_infinity=False))
def test_a_jsonl_quantity_loads_only_as_a_json_integer_from_1_to_the_maximum(quantity: object) -> None:
    """In JSONL the quantity is a JSON integer (not a string, float, bool or null) within 1..MAX_QUANTITY."""
    record = {"order_id": "A", "buyer": dict.fromkeys(BUYER_REQUIRED, "x"),
              "items": [{"marketplace": "AMAZON", "product_id": "B1", "quantity": quantity}]}
    result = load_bytes(json.dumps(record).encode() + b"\n", ".jsonl")
    assert not isinstance(result, InputError)
    [entry] = result
    whole = type(quantity) is int and 1 <= quantity <= MAX_QUANTITY
    if whole:
        assert isinstance(entry, Order)
        assert entry.items[0].quantity == quantity
    else:
        assert isinstance(entry, InvalidOrder)
        assert entry.field == "items[0].quantity"


# ------------------------------------------------------------------ over-long values, column by column

ALL_COLUMNS = [*REQUIRED_COLUMNS, *(c for c in sorted(KNOWN_COLUMNS) if c not in REQUIRED_COLUMNS)]


@pytest.mark.parametrize("column", sorted(KNOWN_COLUMNS - {"order_id"}))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(size=st.sampled_from([MAX_FIELD + 1, 200_000]), on_row=st.integers(0, 1), newlines=st.booleans(),
       crlf=st.booleans())
def test_a_value_longer_than_max_field_makes_its_order_invalid_naming_the_column(
    column: str, size: int, on_row: int, newlines: bool, crlf: bool
) -> None:
    """Any read column, either row of a two-row order, with or without quoted line breaks: the order is
    INVALID at that row's line naming the column, and the next order keeps its own line."""
    buyer = {"first_name": "Ada", "last_name": "L", "email": "a@x", "address1": "1 St", "city": "C",
             "postal_code": "1", "country_code": "US"}
    base = {**buyer, "order_id": "A", "marketplace": "AMAZON", "product_id": "B1", "quantity": "1"}
    huge = ("y" * 99 + "\n") * (size // 100 + 1) if newlines else "y" * size
    rows = [dict(base), dict(base, product_id="B2"), dict(base, order_id="B")]
    rows[on_row][column] = huge
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(ALL_COLUMNS)
    writer.writerows([[r.get(c, "") for c in ALL_COLUMNS] for r in rows])
    result = load_bytes(out.getvalue().encode(), ".csv")
    assert not isinstance(result, InputError)
    bad, good = result
    assert isinstance(bad, InvalidOrder)
    assert (bad.order_id, bad.line, bad.field) == ("A", 2 + on_row, column)
    assert isinstance(good, Order)
    assert good.line == 4 + huge.count("\n")


def _loads_as_expected(data: bytes, name: str, expected: Counter[tuple[object, ...]]) -> None:
    """Each good order exactly once, each bad one INVALID where expected, all naming the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        entries = list(iter_orders(path))
    assert Counter(_seen(e) for e in entries) == expected
    for entry in entries:
        if isinstance(entry, InvalidOrder):
            assert entry.file == str(path)
            assert entry.message
