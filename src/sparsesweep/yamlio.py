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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
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
    return _parse(text, path)[0]


def _parse(text: str, path: Path) -> tuple[YamlDoc, int]:
    """:func:`parse_yaml` and the number of nodes the document expands to."""
    loader = _SafeTaggedLoader(text)
    size = 0
    try:
        node = loader.get_single_node()
        if node is not None:
            size = _check_bounds(node, path)
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
    return YamlDoc(path=path, data=data, lines=lines, quoted=frozenset(quoted)), size


def _check_bounds(root: yaml.Node, path: Path) -> int:
    """Refuse a node graph that expands to too many nodes (aliases share nodes) or nests too deep;
    returns how many nodes it expands to."""
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

    return size(root, 0)


# A top-level entry of a block mapping: a plain key at column 0, then ": " or the line's end.
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")  # line breaks to YAML besides \n (they would shift lines)
_BLANK = re.compile(r" *(#.*)?$")
_TOP_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:(?:[ \t]|$)")


def parse_yaml_sections(text: str, path: Path | str = "<string>") -> YamlDoc:
    """:func:`parse_yaml` of a document whose top level is a block mapping (a rendered point), parsing
    each top-level entry's text once per process (memoised): the points of a sweep share most of
    their sections (the same architecture, problem, constraints).  The result is the one
    :func:`parse_yaml` gives (data, lines, quoted scalars, bounds); any document this cannot split
    safely, or whose sections do not parse on their own, is parsed whole (so errors are the same)."""
    path = Path(path)
    plain = len(text) <= MAX_DOCUMENT_BYTES and not any(c in text for c in _OTHER_BREAKS)
    blocks = _top_level_blocks(text) if plain else None
    if not blocks:
        return parse_yaml(text, path)
    data: dict[Any, Any] = {}
    lines: dict[KeyPath, int] = {}
    quoted: set[KeyPath] = set()
    nodes = 1
    for offset, block in blocks:
        try:
            part, part_lines, part_quoted, size = _parse_section(block)
        except SpecError:
            return parse_yaml(text, path)
        key = next(iter(part))
        if key in data:  # a duplicate key: the whole document's error
            return parse_yaml(text, path)
        data[key] = _copied(part[key])
        lines.update((k, line + offset) for k, line in part_lines)
        quoted.update(part_quoted)
        nodes += size - 1
    if nodes > MAX_NODES:
        return parse_yaml(text, path)
    return YamlDoc(path=path, data=data, lines=lines, quoted=frozenset(quoted))


def _top_level_blocks(text: str) -> list[tuple[int, str]] | None:
    """(line offset, text) of each top-level entry, or None when a column-0 line is neither an entry's
    plain key, a comment, a block sequence item nor blank (directives, document markers, tags, ...)."""
    blocks: list[tuple[int, list[str]]] = []
    for i, line in enumerate(text.split("\n")):
        if _TOP_KEY.match(line):
            blocks.append((i, [line]))
        elif blocks and (line[:1] in ("", " ", "#") or (line[:1] == "-" and line[1:2] in ("", " "))):
            blocks[-1][1].append(line)
        elif blocks or not _BLANK.match(line):  # (before the first entry: only blank lines and comments)
            return None
    return [(offset, "\n".join(block)) for offset, block in blocks]


@lru_cache(maxsize=512)
def _parse_section(block: str) -> tuple[dict[Any, Any], tuple[tuple[KeyPath, int], ...], frozenset[KeyPath], int]:
    """One top-level entry parsed alone: (data, lines, quoted, nodes); never hand out its data itself."""
    doc, size = _parse(block, Path("<section>"))
    if not isinstance(doc.data, dict) or len(doc.data) != 1:
        raise SpecError("not one top-level entry")
    return doc.data, tuple(doc.lines.items()), doc.quoted, size


def _copied(value: Any) -> Any:
    """A copy of parsed data (its mappings, lists and sets; the scalars are immutable)."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, set):
        return set(value)
    return value


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
