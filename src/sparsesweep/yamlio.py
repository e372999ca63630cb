"""Safe YAML loading that remembers where every key came from.

``load_yaml`` parses with PyYAML's safe loader (no arbitrary objects) and keeps a
side table from key paths to line numbers, so that any later validation error can
say ``arch/stc.yaml:12: smem.depth: ...``; it also remembers which scalars were quoted, so that
a typed spec can refuse a number in quotes (``'12'``, a string) where it expects a number.  Duplicate keys are refused (PyYAML
would silently keep the last one).  Untrusted input is bounded: a document larger than
``MAX_DOCUMENT_BYTES``, nested deeper than ``MAX_DEPTH`` or expanding (through aliases) to more than
``MAX_NODES`` nodes is refused before it is constructed, so an alias bomb is one error, not a hang.  Timeloop v0.4 tags (``!Component``,
``!Container``, ...) load as plain mappings with the tag under the ``"!"`` key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError, format_key_path
from .fsio import not_a_file

KeyPath = tuple[str | int, ...]

# Timeloop v0.4 node tags; they only label a mapping, so load them as one.
V04_TAGS = ("Component", "Container", "Hierarchical", "Parallel", "Pipelined", "Nothing", "Array")
TAG_KEY = "!"

MAX_DOCUMENT_BYTES = 8 * 2**20  # real inputs are tens of KiB
MAX_NODES = 200_000  # after alias expansion
MAX_DEPTH = 200


# libyaml's C scanner/parser is ~8x faster than the pure-Python one (same nodes, marks and errors);
# the constructor stays the safe one either way.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SafeTaggedLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """SafeLoader that also accepts Timeloop's v0.4 node tags."""


def _tagged_mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    tag = node.tag.lstrip("!")
    if isinstance(node, yaml.MappingNode):
        out = loader.construct_mapping(node, deep=True)
    elif isinstance(node, yaml.ScalarNode) and node.value in ("", None):
        out = {}
    else:
        raise yaml.constructor.ConstructorError(
            None, None, f"tag !{tag} must label a mapping", node.start_mark
        )
    return {TAG_KEY: tag, **out}


for _tag in V04_TAGS:
    _SafeTaggedLoader.add_constructor(f"!{_tag}", _tagged_mapping)


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML document plus the line of every key and list item."""

    path: Path
    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    quoted: frozenset[KeyPath] = frozenset()  # the key paths of quoted scalars ('12', "abc")

    def line_of(self, key: Sequence[str | int]) -> int | None:
        """The line of ``key``, or of its nearest ancestor that has one."""
        key = tuple(key)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None

    def error(self, what: str, key: Sequence[str | int] = (), fix: str | None = None) -> SpecError:
        """A :class:`SpecError` located at ``key`` in this file."""
        return SpecError(
            what,
            file=self.path,
            line=self.line_of(key),
            key=format_key_path(key) if key else None,
            fix=fix,
        )


def parse_yaml(text: str, path: Path | str = "<string>") -> YamlDoc:
    """Parse YAML text safely; raise :class:`SpecError` with the line on bad syntax."""
    path = Path(path)
    if len(text) > MAX_DOCUMENT_BYTES:
        raise SpecError(f"document too large ({len(text) / 2**20:.1f} MiB, the limit is "
                        f"{MAX_DOCUMENT_BYTES // 2**20} MiB)", file=path, fix="split it or check it is the right file")
    loader = _SafeTaggedLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_bounds(node, path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        tag = isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem
        raise SpecError(
            f"{'unsupported YAML tag' if tag else 'malformed YAML'}: {problem}",
            file=path,
            line=line,
            fix="remove the tag: only plain YAML data is read" if tag
            else "check indentation, colons and quoting on that line",
        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"malformed YAML: {exc}", file=path, fix="check the file's syntax") from exc
    finally:
        loader.dispose()
    lines: dict[KeyPath, int] = {}
    quoted: set[KeyPath] = set()
    if node is not None:
        _index(node, (), lines, path, quoted)
    return YamlDoc(path=path, data=data, lines=lines, quoted=frozenset(quoted))


def _check_bounds(root: yaml.Node, path: Path) -> None:
    """Refuse a node graph that expands to too many nodes (aliases share nodes) or nests too deep."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise SpecError(f"nested deeper than {MAX_DEPTH} levels", file=path, line=node.start_mark.line + 1,
                            fix="flatten the document")
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        if total > MAX_NODES:
            raise SpecError(f"aliases expand to more than {MAX_NODES:,} nodes", file=path,
                            line=node.start_mark.line + 1, fix="write the data out instead of nesting aliases")
        sizes[id(node)] = total
        return total

    size(root, 0)


def load_yaml(path: Path | str) -> YamlDoc:
    """Read and parse a YAML file (see :func:`parse_yaml`)."""
    path = Path(path)
    problem = not_a_file(path)
    if problem:
        raise SpecError(problem if problem != "not found" else "file not found", file=path,
                        fix="give a YAML file" if problem != "not found" else "check the path")
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise SpecError(f"file too large ({path.stat().st_size / 2**20:.1f} MiB, the limit is "
                            f"{MAX_DOCUMENT_BYTES // 2**20} MiB)", file=path, fix="check it is the right file")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError("file not found", file=path, fix="check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read file: {exc}", file=path, fix="check permissions and encoding") from exc
    return parse_yaml(text, path)


def _index(node: yaml.Node, prefix: KeyPath, lines: dict[KeyPath, int], path: Path, quoted: set[KeyPath]) -> None:
    if isinstance(node, yaml.ScalarNode):
        if node.style in ("'", '"'):
            quoted.add(prefix)
    elif isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = key_node.value
            if key == "<<":
                continue
            if key in seen:
                raise SpecError(
                    f"duplicate key '{key}'",
                    file=path,
                    line=key_node.start_mark.line + 1,
                    key=format_key_path(prefix + (key,)),
                    fix="keep only one of the two entries",
                )
            seen.add(key)
            lines[prefix + (key,)] = key_node.start_mark.line + 1
            _index(value_node, prefix + (key,), lines, path, quoted)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[prefix + (i,)] = item.start_mark.line + 1
            _index(item, prefix + (i,), lines, path, quoted)


# libyaml's emitter writes the same text as PyYAML's pure-Python one, several times faster.
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump_yaml(data: Any) -> str:
    """Dump plain data as block-style YAML with keys in insertion order."""
    return yaml.dump(data, Dumper=_SafeDumper, sort_keys=False, default_flow_style=False, width=100)
