"""The live-schema check, pure: an introspection answer in, a verdict out (checked, mismatch,
unavailable), with every mismatch named by operation, field and graphql-core's own words.

No I/O here: the client fetches the answer (RyeClient.introspect), live_schema.py wires it into
`run` and `preflight`. A mismatch means a document the run would send is refused by the server's
schema, so the run stops before its first createCart. An answer that is not a schema (the server
refuses introspection, a proxy's page) is *unavailable*: the check is a safety net, not a
requirement, and the run goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    NoDeprecatedCustomRule,
    OperationDefinitionNode,
    Visitor,
    build_client_schema,
    get_introspection_query,
    parse,
    print_schema,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values

#: The query sent: graphql-core's standard introspection, without descriptions (half the size).
INTROSPECTION_QUERY = get_introspection_query(descriptions=False)
#: Longest server message kept in a note (a proxy's error page can be long).
NOTE_MAX_CHARS = 300


class SchemaOutcome(StrEnum):
    CHECKED = "checked"  #: every document validates against the live schema
    MISMATCH = "mismatch"  #: a document does not: the run sends nothing
    UNAVAILABLE = "unavailable"  #: no schema to check against: the run goes on unchecked


@dataclass(frozen=True, slots=True, kw_only=True)
class Mismatch:
    operation: str  #: the key in queries.ALL_DOCUMENTS, e.g. "checkoutByCartID"
    field: str | None  #: where in the document, e.g. "checkoutByCartID.orders"
    message: str  #: graphql-core's validation message, the server's schema speaking

    def __str__(self) -> str:
        where = f", field {self.field}" if self.field else ""
        return f"{self.operation}{where}: {self.message}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaCheck:
    outcome: SchemaOutcome
    sha256: str | None = None  #: of the live schema's printed SDL, when one was read
    note: str = ""  #: why unavailable, in one line
    mismatches: tuple[Mismatch, ...] = ()
    deprecated: tuple[Mismatch, ...] = ()  #: fields the documents use that the server deprecates
    reachable: bool = True  #: False: no HTTP answer, or a 5xx (the API could not be reached)
    documents: int = 0  #: how many documents were checked
    requests: int = 0  #: introspection requests sent for it (Default tier), set by the caller

    def summary(self) -> str:
        """One line for a person: the log, the report, preflight."""
        match self.outcome:
            case SchemaOutcome.CHECKED:
                return (f"checked: {self.documents} documents valid against the live schema "
                        f"(sha256 {self.sha256})")
            case SchemaOutcome.MISMATCH:
                return (f"mismatch: {len(self.mismatches)} problem(s), first: {self.mismatches[0]}"
                        f" (sha256 {self.sha256})")
        return f"unavailable, documents not checked: {self.note}"


def unavailable(note: str, *, reachable: bool = True) -> SchemaCheck:
    return SchemaCheck(outcome=SchemaOutcome.UNAVAILABLE, note=_one_line(note), reachable=reachable)


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= NOTE_MAX_CHARS else flat[: NOTE_MAX_CHARS - 3] + "..."


def judge_answer(
    status: int, body: Mapping[str, Any] | None, documents: Mapping[str, str],
    variables: Mapping[str, Mapping[str, Any]] | None = None,
) -> SchemaCheck:
    """The verdict on one introspection answer (HTTP status, decoded JSON body or None).

    `documents` are those the run sends (queries.ALL_DOCUMENTS); `variables` optionally holds,
    per operation, variables shaped as the client sends them, checked against the input types.
    """
    if status >= 500 or status == 408:
        return unavailable(f"HTTP {status} from the API", reachable=False)
    if body is None:
        return unavailable(f"HTTP {status}, and the answer is not JSON")
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("__schema"), dict):
        try:
            schema = build_client_schema(data)  # type: ignore[arg-type]  # checked: has __schema
        except (GraphQLError, TypeError, ValueError, KeyError) as exc:
            return unavailable(f"the introspection answer is not a usable schema ({exc})")
        return check_documents(schema, documents, variables)
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return unavailable(f"the server refused introspection (HTTP {status}): "
                           f"{errors[0].get('message', '')}")
    return unavailable(f"HTTP {status} answer with neither data.__schema nor errors")


def check_documents(
    schema: GraphQLSchema, documents: Mapping[str, str],
    variables: Mapping[str, Mapping[str, Any]] | None = None,
) -> SchemaCheck:
    """Validate every document (and its sample variables) against `schema`."""
    found: list[Mismatch] = []
    deprecated: list[Mismatch] = []
    for operation, text in documents.items():
        document = parse(text)
        errors = [_mismatch(operation, document, e) for e in validate(schema, document)]
        if not errors and variables and operation in variables:  # variables need a valid document
            errors = _variable_mismatches(schema, operation, document, variables[operation])
        found += errors
        deprecated += [_mismatch(operation, document, e)
                       for e in validate(schema, document, [NoDeprecatedCustomRule])]
    return SchemaCheck(
        outcome=SchemaOutcome.MISMATCH if found else SchemaOutcome.CHECKED,
        sha256=schema_sha256(schema), mismatches=tuple(found), deprecated=tuple(deprecated),
        documents=len(documents),
    )


def schema_sha256(schema: GraphQLSchema) -> str:
    """sha256 of the printed SDL: the same schema gives the same hash, night after night."""
    return hashlib.sha256(print_schema(schema).encode()).hexdigest()


def _variable_mismatches(
    schema: GraphQLSchema, operation: str, document: DocumentNode, variables: Mapping[str, Any]
) -> list[Mismatch]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            result = get_variable_values(schema, definition.variable_definitions or (),
                                         dict(variables))
            if isinstance(result, list):
                return [Mismatch(operation=operation, field="variables", message=e.message)
                        for e in result]
    return []


def _mismatch(operation: str, document: DocumentNode, error: GraphQLError) -> Mismatch:
    node = error.nodes[0] if error.nodes else None
    return Mismatch(operation=operation, field=field_path(document, node) if node else None,
                    message=error.message)


class _PathFinder(Visitor):
    def __init__(self, target: Node) -> None:
        super().__init__()
        self.target = target
        self.path: str | None = None

    def enter(self, node: Node, key: Any, parent: Any, path: Any, ancestors: Any) -> Any:
        if node is not self.target:
            return None
        names = [a.name.value for a in ancestors if isinstance(a, FieldNode)]
        if isinstance(node, FieldNode):
            names.append(node.name.value)
        fragment = next((a.name.value for a in ancestors
                         if getattr(a, "kind", "") == "fragment_definition"), None)
        dotted = ".".join(names)
        self.path = f"{dotted} (in fragment {fragment})" if fragment else dotted
        return Visitor.BREAK


def field_path(document: DocumentNode, node: Node) -> str | None:
    """The dotted path of fields leading to `node` in `document`, e.g. "checkoutByCartID.orders"."""
    finder = _PathFinder(node)
    visit(document, finder)
    return finder.path or None
