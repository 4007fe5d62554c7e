"""Drifted copies of the simulator's schema for tests, edited on the parsed SDL (not its text),
so they keep working however schema.graphql is laid out or commented."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldDefinitionNode,
    InputValueDefinitionNode,
    NameNode,
    Node,
    StringValueNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.language.visitor import REMOVE

SDL = (resources.files("batch_runner.simulator") / "schema.graphql").read_text()


class _Edit(Visitor):
    """Apply `change` to the field (or input field) `field` of type `type_name`, or to the
    argument `field` of any field when `type_name` is "<argument>"."""

    def __init__(self, type_name: str, field: str, change: Any) -> None:
        super().__init__()
        self.type_name, self.field, self.change = type_name, field, change
        self.edits = 0

    def _owner(self, ancestors: Any) -> str:
        named = [a for a in ancestors if isinstance(a, Node) and hasattr(a, "name")]
        return str(named[-1].name.value) if named else ""

    def enter_field_definition(self, node: FieldDefinitionNode, *args: Any) -> Any:
        return self._maybe(node, self._owner(args[-1]))

    def enter_input_value_definition(self, node: InputValueDefinitionNode, *args: Any) -> Any:
        ancestors = args[-1]
        owner = "<argument>" if isinstance(ancestors[-1], FieldDefinitionNode) else self._owner(ancestors)
        return self._maybe(node, owner)

    def _maybe(self, node: Any, owner: str) -> Any:
        if owner != self.type_name or node.name.value != self.field:
            return None
        self.edits += 1
        return self.change(node)


def _edit(sdl: str, type_name: str, field: str, change: Any, *, at_least: int = 1) -> str:
    editor = _Edit(type_name, field, change)
    edited = visit(parse(sdl), editor)
    assert editor.edits >= at_least, f"{type_name}.{field} not found in the schema"
    return print_ast(edited)


def rename_field(type_name: str, field: str, new_name: str, sdl: str = SDL) -> str:
    """The schema with `type_name.field` (object or input type) renamed to `new_name`."""
    return _edit(sdl, type_name, field, lambda n: dataclasses.replace(n, name=NameNode(value=new_name)))


def remove_field(type_name: str, field: str, sdl: str = SDL) -> str:
    """The schema without `type_name.field`."""
    return _edit(sdl, type_name, field, lambda n: REMOVE)


def rename_argument(argument: str, new_name: str, sdl: str = SDL) -> str:
    """The schema with every field argument named `argument` renamed."""
    return _edit(sdl, "<argument>", argument,
                 lambda n: dataclasses.replace(n, name=NameNode(value=new_name)))


def deprecate_field(type_name: str, field: str, reason: str, sdl: str = SDL) -> str:
    """The schema with `type_name.field` marked @deprecated(reason: ...)."""
    directive = DirectiveNode(name=NameNode(value="deprecated"), arguments=(
        ArgumentNode(name=NameNode(value="reason"), value=StringValueNode(value=reason)),))
    return _edit(sdl, type_name, field, lambda n: dataclasses.replace(
        n, directives=(*(n.directives or ()), directive)))
