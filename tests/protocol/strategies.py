"""Hypothesis strategies derived from the protocol's types via ``msgspec.inspect``.

Every field gets values its declared type (and constraints) allows, so a new message or field
is covered by the property tests without touching this file. Free-form ``Any`` values are
JSON-like (what both codecs carry losslessly): finite floats, 64-bit ints, text, lists and
string-keyed objects.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import msgspec
from hypothesis import strategies as st
from msgspec import inspect as mi

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(INT64_MIN, INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)

json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _bounded_int(info: mi.IntType) -> st.SearchStrategy[int]:
    low = INT64_MIN
    high = INT64_MAX
    if info.ge is not None:
        low = max(low, info.ge)
    if info.gt is not None:
        low = max(low, info.gt + 1)
    if info.le is not None:
        high = min(high, info.le)
    if info.lt is not None:
        high = min(high, info.lt - 1)
    return st.integers(low, high)


def _bounded_float(info: mi.FloatType) -> st.SearchStrategy[float]:
    return st.floats(
        min_value=info.ge if info.ge is not None else info.gt,
        max_value=info.le if info.le is not None else info.lt,
        exclude_min=info.gt is not None, exclude_max=info.lt is not None,
        allow_nan=False, allow_infinity=False)


def _bounded_text(info: mi.StrType) -> st.SearchStrategy[str]:
    low, high = info.min_length or 0, min(info.max_length or 30, 30)
    if info.pattern is None:
        return st.text(min_size=low, max_size=high)
    return st.from_regex(info.pattern).filter(lambda text: low <= len(text) <= high)


def strategy_for(info: mi.Type) -> st.SearchStrategy[Any]:
    """A strategy for values of the msgspec type described by ``info``."""
    if isinstance(info, mi.StructType):
        return struct_strategy(info)
    if isinstance(info, mi.UnionType):
        return st.one_of([strategy_for(member) for member in info.types])
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.IntType):
        return _bounded_int(info)
    if isinstance(info, mi.FloatType):
        return _bounded_float(info)
    if isinstance(info, mi.StrType):
        return _bounded_text(info)
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.ListType):
        return st.lists(strategy_for(info.item_type), max_size=3)
    if isinstance(info, mi.DictType):
        return st.dictionaries(
            strategy_for(info.key_type), strategy_for(info.value_type), max_size=4
        )
    if isinstance(info, mi.AnyType):
        return json_values
    raise TypeError(f"no strategy for {info!r}; extend tests/protocol/strategies.py")


def struct_strategy(info: mi.StructType) -> st.SearchStrategy[msgspec.Struct]:
    """Instances of one Struct: required fields always drawn, optional ones drawn or left to
    their default (so defaults and default factories are exercised too)."""
    return _struct_strategy(info.cls)


@cache
def _struct_strategy(cls: type[msgspec.Struct]) -> st.SearchStrategy[msgspec.Struct]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    required = {f.name: strategy_for(f.type) for f in info.fields if f.required}
    optional = {f.name: strategy_for(f.type) for f in info.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: info.cls(**kw))


def union_members(union: Any) -> list[mi.StructType]:
    """The Struct members of a tagged union type."""
    info = mi.type_info(union)
    assert isinstance(info, mi.UnionType)
    members = [member for member in info.types if isinstance(member, mi.StructType)]
    assert len(members) == len(info.types)
    return members


def messages_of(union: Any) -> st.SearchStrategy[msgspec.Struct]:
    """Any member of ``union``, every member reachable."""
    return st.one_of([struct_strategy(member) for member in union_members(union)])
