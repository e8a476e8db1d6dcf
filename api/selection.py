"""What an operation selects, read once per document: the one walker of GraphQL selections in the API.

``tree_of`` compiles a document (each operation and each fragment, fragments shared, never expanded)
into ``Selections``: the fields, inline fragments and fragment spreads of a selection set, each field
with the type it is selected on, its schema definition and what is selected inside it. The tree is
kept for as long as the document lives (the parser cache shares documents between requests), keyed
by the document and by each of its operations, so that every question below is asked of the same
tree, whoever asks:

- ``depth`` and ``aliases``: the depth and alias limits (api/validation.py);
- ``Fragments``: a fragment's answer memoised per question, for those and the cost (api/cost.py);
- ``selected``: every (type, field) selected, for the role matrix, and the response keys of some,
  for the audit log (api/policy.py, api/access.py);
- ``root_fields``: the root fields' response keys (the audit entry's ``what``);
- ``direct_fields`` and ``fields_under``: the fields right under one being resolved (or further down a
  path), with their arguments (look-ahead: api/types/profiles.py and products.py).

Every walk visits a fragment once per question (memoised or marked seen), so a document whose
fragments spread each other at every level costs no more than its size. Fragment cycles and unknown
fragments (which graphql-core's own rules report) count as nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)


@dataclass(eq=False)
class Field:
    """One field of a selection set."""

    node: FieldNode
    definition: GraphQLField | None  # None: introspection, unknown, or selected on a union
    selections: Selections | None  # what is selected inside (None: a leaf)

    @property
    def name(self) -> str:
        return self.node.name.value

    @property
    def key(self) -> str:
        """The key of its value in the response: the alias, else the name."""
        return self.node.alias.value if self.node.alias else self.node.name.value

    def arguments(self, variables: dict[str, Any] | None) -> dict[str, Any]:
        """The arguments given, as plain values (variables put in; a variable not given is Undefined)."""
        return {a.name.value: value_from_ast_untyped(a.value, variables) for a in self.node.arguments or ()}

    def argument(self, name: str, variables: dict[str, Any] | None, default: Any) -> Any:
        """One argument's value as given (``default`` when not given)."""
        for argument in self.node.arguments or ():
            if argument.name.value == name:
                return value_from_ast_untyped(argument.value, variables)
        return default


@dataclass(frozen=True)
class Spread:
    """A fragment spread, by the fragment's name (``Tree.fragments``)."""

    name: str


@dataclass(eq=False)
class Selections:
    """A selection set on ``type`` (None when the schema has no such type): its fields, inline fragments
    (``Selections`` of their own) and fragment spreads, in document order."""

    type: GraphQLNamedType | None
    items: list[Field | Selections | Spread] = field(default_factory=list)


@dataclass(frozen=True)
class Selection:
    """What an operation selects: every (type, field), and for the ``keyed`` pairs asked about, the
    keys (aliases or names) their values take in the response (the audit log counts rows by them)."""

    fields: frozenset[tuple[str, str]]
    keys: Mapping[tuple[str, str], set[str]]


class Tree:
    """A document's operations and fragments, compiled once (see the module's docstring)."""

    def __init__(self, schema: GraphQLSchema, definitions: Iterable[Node]) -> None:
        self.schema = schema
        self.fragments: dict[str, Selections] = {}
        self.operations: dict[int, Selections] = {}  # id of the operation node -> its root selections
        self._fields: dict[int, Field] = {}  # id of a field node -> the field, for look-ahead
        self._memo: dict[str, Fragments] = {}  # the document's own questions (depth, aliases)
        for definition in definitions:
            if isinstance(definition, OperationDefinitionNode):
                root = schema.get_root_type(definition.operation)
                self.operations[id(definition)] = self._compile(definition.selection_set, root)
            elif isinstance(definition, FragmentDefinitionNode):
                condition = schema.get_type(definition.type_condition.name.value)
                self.fragments[definition.name.value] = self._compile(definition.selection_set, condition)

    def _compile(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None) -> Selections:
        """Without recursion: a document nested too deeply for a recursive walk is reported by the
        walks (api/validation.py), not here."""
        root = Selections(parent)
        stack = [(selection_set, root)]
        while stack:
            nodes, target = stack.pop()
            for node in nodes.selections:
                if isinstance(node, FieldNode):
                    owner = target.type
                    definition = (
                        owner.fields.get(node.name.value)
                        if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType)
                        else None
                    )
                    inner = None
                    if node.selection_set is not None:
                        inner = Selections(get_named_type(definition.type) if definition else None)
                        stack.append((node.selection_set, inner))
                    compiled = Field(node, definition, inner)
                    self._fields[id(node)] = compiled
                    target.items.append(compiled)
                elif isinstance(node, InlineFragmentNode):
                    condition = node.type_condition
                    inner_type = self.schema.get_type(condition.name.value) if condition else target.type
                    inline = Selections(inner_type)
                    stack.append((node.selection_set, inline))
                    target.items.append(inline)
                elif isinstance(node, FragmentSpreadNode):
                    target.items.append(Spread(node.name.value))
        return root

    def operation(self, operation: OperationDefinitionNode) -> Selections:
        return self.operations[id(operation)]

    def field(self, node: FieldNode) -> Field:
        return self._fields[id(node)]

    def memo(self, question: str) -> Fragments:
        """The document's memo for a question that depends on nothing else (``depth``, ``aliases``)."""
        return self._memo.setdefault(question, Fragments(self))

    # The questions -------------------------------------------------------------------------------

    def depth(self, operation: OperationDefinitionNode) -> int:
        """Levels of nested selections (leaves and introspection add none), counted like strawberry's
        ``QueryDepthLimiter``. Raises RecursionError for a document nested too deeply to walk."""
        memo = self.memo("depth")

        def depth(selections: Selections) -> int:
            deepest = 0
            for item in selections.items:
                if isinstance(item, Field):
                    if item.selections is None or item.name.startswith("__"):
                        continue
                    found = 1 + depth(item.selections)
                elif isinstance(item, Selections):
                    found = depth(item)
                else:
                    found = memo.value(item.name, None, depth)
                deepest = max(deepest, found)
            return deepest

        return depth(self.operation(operation))

    def aliases(self) -> int:
        """Aliases in all the document's operations, a fragment's counted once per spread of it.
        Raises RecursionError for a document nested too deeply to walk."""
        memo = self.memo("aliases")

        def count(selections: Selections) -> int:
            found = 0
            for item in selections.items:
                if isinstance(item, Field):
                    found += 1 if item.node.alias else 0
                    if item.selections is not None:
                        found += count(item.selections)
                elif isinstance(item, Selections):
                    found += count(item)
                else:
                    found += memo.value(item.name, None, count)
            return found

        return sum(count(root) for root in self.operations.values())

    def selected(
        self, operation: OperationDefinitionNode, keyed: Iterable[tuple[str, str]] = ()
    ) -> Selection:
        """Every (type, field) ``operation`` selects (introspection left out), and the response keys of
        the ``keyed`` pairs; each fragment walked once."""
        wanted = frozenset(keyed)
        found: set[tuple[str, str]] = set()
        keys: dict[tuple[str, str], set[str]] = {}
        seen: set[str] = set()

        def walk(selections: Selections) -> None:
            parent = selections.type
            if parent is None:
                return
            for item in selections.items:
                if isinstance(item, Field):
                    if item.name.startswith("__") or not isinstance(
                        parent, GraphQLObjectType | GraphQLInterfaceType
                    ):
                        continue
                    pair = (parent.name, item.name)
                    found.add(pair)
                    if pair in wanted:
                        keys.setdefault(pair, set()).add(item.key)
                    if item.definition is not None and item.selections is not None:
                        walk(item.selections)
                elif isinstance(item, Selections):
                    walk(item)
                elif item.name in self.fragments and item.name not in seen:
                    seen.add(item.name)
                    walk(self.fragments[item.name])

        walk(self.operation(operation))
        return Selection(frozenset(found), keys)

    def root_fields(self, operation: OperationDefinitionNode) -> dict[str, str]:
        """Response key (alias or name) -> field name of the operation's root fields, through fragments
        and inline fragments on the root type (introspection left out)."""
        found: dict[str, str] = {}
        for item in self._flat(self.operation(operation)):
            if not item.name.startswith("__"):
                found[item.key] = item.name
        return found

    def direct_fields(
        self, nodes: Iterable[FieldNode], variables: dict[str, Any] | None
    ) -> list[tuple[str, dict[str, Any]]]:
        """(name, arguments) of each field selected right under ``nodes`` (one field, however many
        times the document selects it), through fragments, variables put in."""
        return [(item.name, item.arguments(variables)) for item in self.fields_under(nodes)]

    def fields_under(self, nodes: Iterable[FieldNode], path: Iterable[str] = ()) -> list[Field]:
        """The fields selected under ``nodes`` at ``path`` (field names, e.g. ``("edges", "node")``):
        right under them when ``path`` is empty; through fragments, each occurrence once per spread."""
        level = [self.field(node) for node in nodes]
        for name in (*path, None):
            inner = [
                item
                for parent in level
                if parent.selections is not None
                for item in self._flat(parent.selections, per_path=True)
            ]
            if name is None:
                return inner
            level = [item for item in inner if item.name == name]
        return level

    def _flat(self, selections: Selections, *, per_path: bool = False) -> list[Field]:
        """The fields of ``selections`` through its inline fragments and fragment spreads, in document
        order; each fragment once, or with ``per_path`` once per spread not inside itself."""
        found: list[Field] = []
        seen: set[str] = set()

        def walk(items: Selections, path: frozenset[str]) -> None:
            for item in items.items:
                if isinstance(item, Field):
                    found.append(item)
                elif isinstance(item, Selections):
                    walk(item, path)
                elif item.name in self.fragments and item.name not in (path if per_path else seen):
                    seen.add(item.name)
                    walk(self.fragments[item.name], path | {item.name})

        walk(selections, frozenset())
        return found


class Fragments:
    """A question's answers for each fragment of a tree, each computed once (memoised) per key, cycles
    cut: a spread back into a fragment being walked counts as nothing (graphql-core's
    NoFragmentCyclesRule reports it), as does a fragment the document lacks."""

    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self._memo: dict[tuple[str, Any], int] = {}
        self._active: set[tuple[str, Any]] = set()

    def value(self, name: str, key: Any, compute: Callable[[Selections], int]) -> int:
        memo_key = (name, key)
        if memo_key in self._memo:
            return self._memo[memo_key]
        fragment = self.tree.fragments.get(name)
        if fragment is None or memo_key in self._active:
            return 0
        self._active.add(memo_key)
        try:
            found = compute(fragment)
        finally:
            self._active.discard(memo_key)
        self._memo[memo_key] = found
        return found


# The trees, by document and by operation, for as long as those live ----------------------------------

_TREES: dict[tuple[int, int], tuple[weakref.ref[Node], Tree]] = {}


def _keep(schema: GraphQLSchema, node: Node, tree: Tree) -> None:
    key = (id(schema), id(node))
    _TREES[key] = (weakref.ref(node, lambda _: _TREES.pop(key, None)), tree)


def _kept(schema: GraphQLSchema, node: Node) -> Tree | None:
    entry = _TREES.get((id(schema), id(node)))
    return entry[1] if entry is not None and entry[0]() is node else None


def tree_of(schema: GraphQLSchema, document: DocumentNode) -> Tree:
    """The document's tree, compiled on first use and kept while the document lives."""
    tree = _kept(schema, document)
    if tree is None:
        tree = Tree(schema, document.definitions)
        _keep(schema, document, tree)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                _keep(schema, definition, tree)
    return tree


def tree_of_info(info: GraphQLResolveInfo[Any]) -> Tree:
    """The tree of the operation a resolver runs in: the document's, or one of the operation and its
    fragments when nothing compiled the document before execution."""
    tree = _kept(info.schema, info.operation)
    if tree is None:
        tree = Tree(info.schema, [info.operation, *info.fragments.values()])
        _keep(info.schema, info.operation, tree)
    return tree
