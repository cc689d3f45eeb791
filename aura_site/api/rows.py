"""Hot read paths: a query compiled once per process, its rows rendered by a serializer's fields.

A detail answer that lists a record's rows (an epoch's votes, a page's crisis phases) spent most
of its time in the ORM compiling the same SQL on every request and in the serializer walking
each row's attributes. `PreparedRows` compiles the `values_list` query once and runs it with
the key; `RowRenderer` calls the serializer's own fields' `to_representation`, so the JSON is
the serializer's (tests/perf/test_rendering.py compares the two). The crisis and epoch list
pages read their page's keys with the filters and ordering of the request (lists.py), then
the rows of those keys the same way. `InstanceRenderer` does the same for one model instance
already in memory (a crisis as a trigger or a wait answers it).
"""

from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any

from django.db import connections, models
from rest_framework import serializers

# Stands in for the key while the query is compiled; never sent to the database.
_SENTINEL = object()


class PreparedRows:
    """`model.objects.filter(<key>__in=keys).order_by(*order_by).values_list(*columns)`,
    compiled once; `fetch` runs it for some keys and returns plain tuples.

    Only columns the database driver returns as Python values are allowed (no field with
    `from_db_value`, which the ORM would apply and a plain cursor does not). `queryset`, when
    given, makes the base queryset instead of the model's manager, for its annotations.
    """

    def __init__(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        *,
        key: str,
        order_by: Sequence[str],
        queryset: Callable[[], models.QuerySet] | None = None,
        using: str = "default",
    ) -> None:
        self.model = model
        self.columns = tuple(columns)
        self.key = key
        self.order_by = tuple(order_by)
        self.queryset = queryset or model._default_manager.all
        self.using = using
        for name in self.columns:
            if name in self.queryset().query.annotations:
                continue  # as the driver returns it: jsonb as text
            field = model._meta.get_field(name.split("__")[0])
            if "__" not in name and hasattr(field, "from_db_value"):
                raise ValueError(f"{model.__name__}.{name} needs the ORM's converters")

    @cached_property
    def _query(self) -> tuple[str, tuple[Any, ...]]:
        """Return the SQL and its parameters, the key's place marked by the sentinel."""
        connection = connections[self.using]
        quote = connection.ops.quote_name
        column = self.model._meta.get_field(self.key).column
        # `extra` passes its parameter through unprepared: the sentinel marks the key's place.
        where = f"{quote(self.model._meta.db_table)}.{quote(column)} = ANY(%s)"
        queryset = (
            self.queryset()
            .using(self.using)
            .extra(where=[where], params=[_SENTINEL])
            .order_by(*self.order_by)
            .values_list(*self.columns)
        )
        sql, params = queryset.query.sql_with_params()
        if [p for p in params if p is _SENTINEL] != [_SENTINEL]:
            raise ValueError(f"unexpected parameters in {sql!r}: {params!r}")
        return sql, params

    def fetch(self, keys: Iterable[Any]) -> list[tuple]:
        """Return the rows of these keys, in the query's order."""
        sql, params = self._query
        keys = list(keys)
        with connections[self.using].cursor() as cursor:
            cursor.execute(sql, [keys if p is _SENTINEL else p for p in params])
            return cursor.fetchall()


class RowRenderer:
    """Render `values_list` rows as `serializer_class` renders model instances.

    Each field reads a plain column (its `source`, no dots, no `*`), or is `derived` from the
    row's columns by name, or is `computed`: its JSON value made by the caller's function of
    the row's columns (and of the `context` given to `render`). The columns to select are the
    plain sources, in the serializer's order, then `reads`: what the functions also read.
    """

    def __init__(
        self,
        serializer_class: type[serializers.Serializer],
        derived: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
        computed: dict[str, Callable[[dict[str, Any]], Any]] | None = None,
        reads: Sequence[str] = (),
    ) -> None:
        derived = derived or {}
        computed = computed or {}
        fields = serializer_class().fields
        for name, field in fields.items():
            if name not in computed and (field.source == "*" or "." in field.source):
                raise ValueError(f"{serializer_class.__name__}.{name} is not a plain column")
        shown = [
            f.source
            for name, f in fields.items()
            if name not in computed and f.source not in derived
        ]
        self.columns = (*shown, *(column for column in reads if column not in shown))
        self._fields = tuple(
            (
                name,
                field.source,
                field.to_representation,
                derived.get(field.source),
                computed.get(name),
            )
            for name, field in fields.items()
        )
        self._plain = not derived and not computed

    def render(self, row: Sequence[Any], context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return one row's data; None stays None, as DRF leaves it."""
        if self._plain:
            pairs = zip(self._fields, row, strict=True)
            return {name: None if v is None else rep(v) for (name, _, rep, _, _), v in pairs}
        values = dict(zip(self.columns, row, strict=True))
        if context:
            values.update(context)
        data = {}
        for name, source, represent, derive, compute in self._fields:
            if compute is not None:
                data[name] = compute(values)
                continue
            value = derive(values) if derive is not None else values[source]
            data[name] = None if value is None else represent(value)
        return data

    def render_all(self, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        return [self.render(row) for row in rows]


class InstanceRenderer:
    """Render model instances as `serializer_class` does, without DRF's per-field machinery.

    Fields with a plain `source` read that attribute (a select_related object for a related
    field); fields with source `*` (method fields, `StartField`) get the instance; `special`
    fields are computed by the caller's function of the instance.
    """

    def __init__(
        self,
        serializer_class: type[serializers.Serializer],
        special: dict[str, Callable[[Any], Any]],
    ) -> None:
        self.serializer = serializer_class()
        fields = self.serializer.fields
        self._fields = []
        for name, field in fields.items():
            if name in special:
                self._fields.append((name, None, special[name]))
            elif field.source == "*":
                self._fields.append((name, None, field.to_representation))
            elif "." in field.source:
                raise ValueError(f"{serializer_class.__name__}.{name} reads a path")
            else:
                self._fields.append((name, field.source, field.to_representation))

    def render(self, instance: Any) -> dict[str, Any]:
        data = {}
        for name, source, represent in self._fields:
            if source is None:
                data[name] = represent(instance)
            else:
                value = getattr(instance, source)
                data[name] = None if value is None else represent(value)
        return data
