"""Answering a GraphQL request as Shopify meters it.

Every query is metered as Shopify does: a requested cost from the query's shape (objects 1,
connections 2 + ``first`` × their nodes, mutations 10), refused above 1,000, taken from a
leaky bucket that refills at ``restore_rate`` points a second, with the difference to the
actual cost (from what was returned) refunded. A query the bucket cannot cover gets the
``THROTTLED`` error, and every answer carries ``extensions.cost``. :attr:`spent` and
:attr:`throttled` count what clients used and how often they ran dry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    graphql_sync,
    parse,
    validate,
    value_from_ast_untyped,
)

from bot.demo.standins.shopify.connections import Run
from bot.demo.standins.shopify.model import Recorded

MAX_QUERY_COST = 1000
MUTATION_COST = 10
THROTTLED_DOCS = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class Bucket:
    maximum: float
    restore_rate: float
    available: float
    at: float

    def refill(self, now: float) -> None:
        self.available = min(self.maximum, self.available + (now - self.at) * self.restore_rate)
        self.at = now


class Metering:
    """The cost bucket, and answering a document within it (set up by `ShopifyStandin`)."""

    _schema: GraphQLSchema
    _bucket: Bucket
    _monotonic: Callable[[], float]
    spent: float
    throttled: int

    @property
    def maximum(self) -> float:
        return self._bucket.maximum

    @property
    def restore_rate(self) -> float:
        return self._bucket.restore_rate

    def drain(self, points: float) -> None:
        """Take ``points`` from the bucket, as another app of the shop would."""
        self._bucket.refill(self._monotonic())
        self._bucket.available = max(0.0, self._bucket.available - points)

    def _answer(
        self, path: str, document: str, variables: dict[str, Any]
    ) -> tuple[dict[str, Any], Recorded]:
        def recorded(requested: int | None, actual: int | None, throttled: bool) -> Recorded:
            return Recorded(path, document, variables, 200, requested, actual, throttled)

        try:
            ast = parse(document)
        except GraphQLError as error:
            return {"errors": [error.formatted]}, recorded(None, None, False)
        problems = validate(self._schema, ast)
        if problems:
            return {"errors": [p.formatted for p in problems]}, recorded(None, None, False)
        operation = next(d for d in ast.definitions if isinstance(d, OperationDefinitionNode))
        requested = self._requested_cost(operation, variables)
        if requested > MAX_QUERY_COST:
            message = (
                f"Query cost is {requested}, which exceeds the single query max cost "
                f"limit ({MAX_QUERY_COST})."
            )
            error = {
                "message": message,
                "extensions": {
                    "code": "MAX_COST_EXCEEDED",
                    "cost": requested,
                    "maxCost": MAX_QUERY_COST,
                },
            }
            return {"errors": [error]}, recorded(requested, None, False)
        bucket = self._bucket
        bucket.refill(self._monotonic())
        if requested > bucket.available:
            self.throttled += 1
            answer = {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": THROTTLED_DOCS},
                    }
                ],
                "extensions": {"cost": self._cost(requested, None)},
            }
            return answer, recorded(requested, None, True)
        bucket.available -= requested
        run = Run()
        result = graphql_sync(self._schema, document, variable_values=variables, context_value=run)
        data = result.data
        actual = (
            requested
            if operation.operation == OperationType.MUTATION
            else (_actual_cost(operation.selection_set, data) if data is not None else 0)
        )
        bucket.available = min(bucket.maximum, bucket.available + requested - actual)
        self.spent += actual
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["data"] = data
        answer["extensions"] = {"cost": self._cost(requested, actual)}
        if run.search:
            answer["extensions"]["search"] = run.search
        return answer, recorded(requested, actual, False)

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self._bucket.maximum,
                "currentlyAvailable": int(self._bucket.available),
                "restoreRate": self._bucket.restore_rate,
            },
        }

    def _requested_cost(self, operation: OperationDefinitionNode, variables: dict) -> int:
        if operation.operation == OperationType.MUTATION:
            return MUTATION_COST
        query_type = self._schema.query_type
        assert query_type is not None
        return _selection_cost(self._schema, operation.selection_set, query_type, variables)


def _selection_cost(
    schema: GraphQLSchema, selections: SelectionSetNode | None, parent: Any, variables: dict
) -> int:
    if selections is None:
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode):
            fragment_type = parent
            if selection.type_condition is not None:
                fragment_type = schema.get_type(selection.type_condition.name.value)
            total += _selection_cost(schema, selection.selection_set, fragment_type, variables)
            continue
        if not isinstance(selection, FieldNode) or not isinstance(parent, GraphQLObjectType):
            continue
        definition = parent.fields.get(selection.name.value)
        if definition is None:
            continue
        child = get_named_type(definition.type)
        if child.name.endswith("Connection") and isinstance(child, GraphQLObjectType):
            size = (
                _argument(selection, "first", variables)
                or _argument(selection, "last", variables)
                or 0
            )
            node_type = get_named_type(child.fields["edges"].type)
            per_node = 0
            for part in selection.selection_set.selections if selection.selection_set else ():
                if isinstance(part, FieldNode) and part.name.value in ("edges", "nodes"):
                    inner = part.selection_set
                    if part.name.value == "edges":
                        node_field = next(
                            (
                                s
                                for s in inner.selections  # type: ignore[union-attr]
                                if isinstance(s, FieldNode) and s.name.value == "node"
                            ),
                            None,
                        )
                        inner = node_field.selection_set if node_field else None
                        node_type = get_named_type(node_type.fields["node"].type)  # type: ignore[union-attr]
                    else:
                        node_type = get_named_type(child.fields["nodes"].type)
                    per_node = max(
                        per_node, 1 + _selection_cost(schema, inner, node_type, variables)
                    )
            total += 2 + int(size) * per_node
        elif isinstance(child, GraphQLObjectType) or hasattr(child, "resolve_type"):
            total += 1 + _selection_cost(schema, selection.selection_set, child, variables)
    return total


def _argument(selection: FieldNode, name: str, variables: dict) -> Any:
    for argument in selection.arguments or ():
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _actual_cost(selections: SelectionSetNode | None, data: Any) -> int:
    """Objects 1, connections 2 + their returned nodes, from what was actually returned."""
    if selections is None or not isinstance(data, dict):
        return 0
    total = 0
    for selection in selections.selections:
        if isinstance(selection, InlineFragmentNode):
            total += _actual_cost(selection.selection_set, data)
            continue
        if not isinstance(selection, FieldNode):
            continue
        key = selection.alias.value if selection.alias else selection.name.value
        value = data.get(key)
        if isinstance(value, dict) and ("edges" in value or "nodes" in value):
            total += 2
            for part in selection.selection_set.selections:  # type: ignore[union-attr]
                if not isinstance(part, FieldNode):
                    continue
                if part.name.value == "edges":
                    node_field = next(
                        (
                            s
                            for s in part.selection_set.selections  # type: ignore[union-attr]
                            if isinstance(s, FieldNode) and s.name.value == "node"
                        ),
                        None,
                    )
                    for edge in value.get("edges") or ():
                        total += 1 + _actual_cost(
                            node_field.selection_set if node_field else None, edge.get("node")
                        )
                elif part.name.value == "nodes":
                    for node in value.get("nodes") or ():
                        total += 1 + _actual_cost(part.selection_set, node)
        elif isinstance(value, dict):
            total += 1 + _actual_cost(selection.selection_set, value)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            total += sum(1 + _actual_cost(selection.selection_set, item) for item in value)
    return total
