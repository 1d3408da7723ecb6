"""YAML in and out, without YAML 1.1's surprises.

Reading differs from ``yaml.safe_load`` in three ways, all so that what the author wrote
survives:

* numbers remember their source text (``version: 1.10`` is the float 1.1, but a text field
  gets back ``"1.10"``, not ``"1.1"``);
* ``yes``/``no``/``on``/``off`` stay text; only ``true``/``false`` are booleans (boolean
  fields still accept the words, pydantic parses them);
* a key given twice in one mapping is reported instead of the later value silently winning.

Writing produces block scalars for multi-line text and keeps key order, so a file written by
``greenroom characters import`` reads like one written by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

try:  # libyaml's parser when PyYAML was built with it (~6x faster); same constructors.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class YamlFloat(float):
    """A float that remembers how it was written."""

    source_text: str

    def __new__(cls, value: float, source_text: str) -> YamlFloat:
        obj = super().__new__(cls, value)
        obj.source_text = source_text
        return obj


class YamlInt(int):
    """An int that remembers how it was written (``0755``, ``1_000``)."""

    source_text: str

    def __new__(cls, value: int, source_text: str) -> YamlInt:
        obj = super().__new__(cls, value)
        obj.source_text = source_text
        return obj


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    key: str
    first_line: int  # 1-based
    second_line: int


@dataclass(frozen=True, slots=True)
class ParsedYaml:
    data: Any
    duplicate_keys: list[DuplicateKey]


class _SourceKeepingLoader(_BaseLoader):
    duplicate_keys: list[DuplicateKey]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.duplicate_keys.append(DuplicateKey(str(key), seen[key], line))
                else:
                    seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _construct_float(loader: _BaseLoader, node: yaml.ScalarNode) -> float:
    value = loader.construct_yaml_float(node)
    return YamlFloat(value, str(node.value))


def _construct_int(loader: _BaseLoader, node: yaml.ScalarNode) -> int:
    value = loader.construct_yaml_int(node)
    return YamlInt(value, str(node.value))


def _construct_bool(loader: _BaseLoader, node: yaml.ScalarNode) -> bool | str:
    text = str(node.value)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


_SourceKeepingLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_SourceKeepingLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_SourceKeepingLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document; raises ``yaml.YAMLError`` (with a position) on bad syntax."""
    loader = _SourceKeepingLoader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return ParsedYaml(data, loader.duplicate_keys)


def as_text(value: object) -> str | None:
    """The text an author meant by a scalar, or ``None`` if ``value`` is not a scalar."""
    if isinstance(value, str):
        return value
    if isinstance(value, YamlFloat | YamlInt):
        return value.source_text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return None


def plain(value: Any) -> Any:
    """``value`` with every source-keeping number turned back into a plain int/float."""
    if isinstance(value, YamlFloat):
        return float(value)
    if isinstance(value, YamlInt):
        return int(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class _ReadableDumper(yaml.SafeDumper):
    pass


# Line breaks YAML folds or normalises inside plain, single-quoted and block scalars; only
# double quotes (which escape them) keep them exactly.
_FRAGILE_BREAKS = frozenset("\r\x85\u2028\u2029")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _FRAGILE_BREAKS.intersection(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_ReadableDumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """Block-style YAML, keys in the given order, unicode kept, long lines not folded.

    Whatever this writes, ``parse_yaml`` reads back to equal data (text that looks like a
    number or a boolean is quoted by the dumper).
    """
    return yaml.dump(
        data,
        Dumper=_ReadableDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100_000,
        default_flow_style=False,
    )
