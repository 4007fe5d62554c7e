"""JSONL order files: one order per line, a JSON object, and the raw lines the retry file copies."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from batch_runner.core.model import InvalidOrder, Order
from batch_runner.load_fields import (
    BILLING_REQUIRED,
    BUYER_REQUIRED,
    MAX_FIELD,
    SeenIds,
    _Bad,
    got,
    parse_address,
    parse_item,
)
from batch_runner.load_lines import _OVERLONG, MAX_LINE_BYTES, _open, _read_line


def _json_order_id(value: object) -> str:
    if value is None or value == "":
        raise _Bad("order_id", "missing")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _Bad("order_id", f"must be text (got {got(value)})")
    order_id = str(value).strip()
    if not order_id:
        raise _Bad("order_id", "missing")
    if len(order_id) > MAX_FIELD:
        raise _Bad("order_id", f"longer than {MAX_FIELD} characters")
    return order_id


def _shown_order_id(record: Any) -> str | None:
    """The order_id to name on an INVALID line, when the record has a usable one."""
    if not isinstance(record, dict):
        return None
    try:
        return _json_order_id(record.get("order_id"))
    except _Bad:
        return None


def _not_an_object(record: Any) -> _Bad:
    if isinstance(record, list):
        return _Bad(None, "the line is a JSON array, not one order: write one order per line, "
                          "each a JSON object (JSONL)")
    return _Bad(None, "the line is JSON but not an object")


def parse_record(record: Any) -> Order:
    """One JSONL order; raises _Bad naming the field path."""
    if not isinstance(record, dict):
        raise _not_an_object(record)
    order_id = _json_order_id(record.get("order_id"))
    buyer = record.get("buyer")
    if not isinstance(buyer, dict):
        raise _Bad("buyer", "must be an object with the buyer's name and address")
    billing_raw = record.get("billing")
    if billing_raw is not None and not isinstance(billing_raw, dict):
        raise _Bad("billing", "must be an object")
    items_raw = record.get("items")
    if not isinstance(items_raw, list) or not items_raw:
        raise _Bad("items", "must be a non-empty list")
    items = []
    for n, item in enumerate(items_raw):
        if not isinstance(item, dict):
            raise _Bad(f"items[{n}]", "must be an object")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise _Bad(f"items[{n}].quantity",
                       f"must be a JSON whole number \u2265 1 (got {got(quantity)})")
        items.append(parse_item(item.get("marketplace"), item.get("product_id"), item.get("quantity"),
                                f"items[{n}]."))
    token = record.get("payment_token")
    if token is not None and not isinstance(token, str):
        raise _Bad("payment_token", "must be text")
    if token is not None and len(token) > MAX_FIELD:
        raise _Bad("payment_token", f"longer than {MAX_FIELD} characters")
    return Order(
        order_id=order_id, buyer=parse_address(buyer, BUYER_REQUIRED, "buyer."),
        billing=parse_address(billing_raw, BILLING_REQUIRED, "billing.") if billing_raw else None,
        items=tuple(items), payment_token=(token or "").strip() or None, line=0,
    )


def iter_jsonl(path: Path) -> Iterator[Order | InvalidOrder]:
    seen = SeenIds()
    with _open(path) as handle:
        line = 0
        while (raw := _read_line(handle)) is not None:
            line += 1
            if raw is _OVERLONG:
                yield InvalidOrder(order_id=None, file=str(path), line=line, field=None,
                                   message=f"the line is longer than {MAX_LINE_BYTES} bytes",
                                   lines=(line,))
                continue
            if line == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield InvalidOrder(order_id=None, file=str(path), line=line, field=None,
                                   message="the line is not valid JSON (or not UTF-8)",
                                   lines=(line,))
                continue
            try:
                order = parse_record(record)
            except _Bad as bad:
                yield InvalidOrder(order_id=_shown_order_id(record), file=str(path), line=line,
                                   field=bad.field, message=bad.message, lines=(line,))
                continue
            if not seen.add(order.order_id):
                yield InvalidOrder(order_id=order.order_id, file=str(path), line=line, field="order_id",
                                   message=f"DUPLICATE_ORDER_ID: order {order.order_id} appeared "
                                           "earlier in the file; this one was not sent.",
                                   items=order.items, lines=(line,))
                continue
            yield Order(order_id=order.order_id, buyer=order.buyer, billing=order.billing,
                        items=order.items, payment_token=order.payment_token, line=line,
                        item_lines=(line,) * len(order.items))


# --- raw input, for the retry file -----------------------------------------------------------


def iter_jsonl_lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """Every line of a JSONL file as bytes (a leading byte-order mark removed) with its number;
    None for a line longer than MAX_LINE_BYTES, which is skipped unread."""
    with _open(path) as handle:
        line = 0
        while (raw := _read_line(handle)) is not None:
            line += 1
            if raw is _OVERLONG:
                yield line, None
                continue
            yield line, raw.removeprefix(codecs.BOM_UTF8) if line == 1 else raw
