"""Reading the files a user points at, and parsing their YAML and JSON: the one home.

- :func:`read_text` / :func:`read_bytes` — bounded: at most ``limit + 1`` bytes are read,
  only regular files are opened (``/dev/zero``, FIFOs and directories are refused without
  blocking), text is strict UTF-8 (a BOM is dropped);
- :func:`load_yaml` — a safe loader that refuses duplicate keys, more than a few aliases,
  aliases that expand a small document into a huge one ("billion laughs"), recursive
  aliases and very deep nesting;
- :func:`load_json` — ``json.loads`` that refuses duplicate keys and deep nesting.

Each raises :class:`InputError` (a ``ValueError``) with a one-line reason and, where known,
the line; callers turn it into their "file unreadable" finding. Nothing else escapes.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

__all__ = [
    "MAX_ALIASES",
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "MAX_TEXT_BYTES",
    "InputError",
    "load_json",
    "load_yaml",
    "printable",
    "read_bytes",
    "read_text",
]

MAX_TEXT_BYTES = 4 * 1024 * 1024  # far above any settings, inventory or values file
MAX_ALIASES = 100
MAX_ALIAS_EXPANSION = 100_000  # nodes that aliases may add to a document once expanded
MAX_DEPTH = 100
_MERGE_TAG = "tag:yaml.org,2002:merge"


class InputError(ValueError):
    """A file or document that cannot be used; ``reason`` is one line, ``line`` 1-based."""

    def __init__(self, reason: str, *, line: int | None = None, column: int | None = None):
        self.reason = reason
        self.line = line
        self.column = column
        super().__init__(f"{reason}{self.where}" if line else reason)

    @property
    def where(self) -> str:
        """`` at line L column C`` (or ``""``), to place after a caller's own words."""
        if not self.line:
            return ""
        return f" at line {self.line}" + (f" column {self.column}" if self.column else "")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def read_bytes(path: str | os.PathLike[str], *, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; InputError otherwise."""
    try:
        p = Path(path)
    except TypeError:
        raise InputError(f"not a path: {type(path).__name__}") from None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)  # non-blocking: opening a FIFO must not wait for a writer
    except (OSError, ValueError) as err:
        raise InputError(getattr(err, "strerror", None) or type(err).__name__) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError("it is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise InputError("not a regular file (a device, pipe or socket)")
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as err:
        raise InputError(err.strerror or type(err).__name__) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise InputError(f"larger than {_size(limit)}")
    return data


def read_text(path: str | os.PathLike[str], *, limit: int = MAX_TEXT_BYTES) -> str:
    """A regular file's text, strict UTF-8 (BOM dropped), at most ``limit`` bytes."""
    data = read_bytes(path, limit=limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not UTF-8 text (byte {err.start})") from None


class _Loader(Reader, Scanner, Parser, Composer, SafeConstructor, Resolver):
    """SafeLoader that counts aliases and refuses duplicate keys."""

    def __init__(self, stream: str, max_aliases: int):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.aliases = 0
        self.max_aliases = max_aliases

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                raise _refused(f"more than {self.max_aliases} aliases", self.peek_event())
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    earlier = first.get(key)
                    first.setdefault(key, line)
                except TypeError:
                    continue  # unhashable: the base class reports it
                if earlier is not None:
                    shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:57] + "..."
                    raise _refused(f"duplicate key {shown} (first at line {earlier})", key_node)
        return super().construct_mapping(node, deep=deep)


def _refused(reason: str, at: Any) -> InputError:
    mark = getattr(at, "start_mark", None)
    if mark is None:
        return InputError(reason)
    return InputError(reason, line=mark.line + 1, column=mark.column + 1)


def _measure(root: Node, max_expansion: int, max_depth: int) -> None:
    """Refuse recursive aliases, documents nested too deeply, and alias bombs."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    unique = 0
    stack: list[tuple[Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        if done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            heights[key] = 1 + max((heights[id(c)] for c in children), default=0)
            if heights[key] > max_depth:
                raise _refused(f"nested deeper than {max_depth} levels", node)
            if sizes[key] - unique > max_expansion:
                raise _refused(
                    f"aliases expand it beyond {max_expansion} extra nodes (a YAML bomb?)", node
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _refused("an alias refers to a node that contains it", node)
        open_nodes.add(key)
        unique += 1
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                raise _refused("an alias refers to a node that contains it", child)
            if id(child) not in sizes:
                stack.append((child, False))


def load_yaml(
    text: str,
    *,
    limit: int = MAX_TEXT_BYTES,
    max_aliases: int = MAX_ALIASES,
    max_expansion: int = MAX_ALIAS_EXPANSION,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """One YAML document, safely; InputError for anything unusable (never another error)."""
    if not isinstance(text, str):
        raise InputError(f"YAML must be text, not {type(text).__name__}")
    if len(text) > limit:
        raise InputError(f"larger than {_size(limit)}")
    loader: _Loader | None = None
    try:
        loader = _Loader(text, max_aliases)  # the reader already refuses control characters
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node, max_expansion, max_depth)
        return loader.construct_document(node)
    except InputError:
        raise
    except yaml.reader.ReaderError as err:
        raise InputError(str(err).splitlines()[0]) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        problem = err.problem or type(err).__name__
        if mark is None:
            raise InputError(problem) from None
        raise InputError(problem, line=mark.line + 1, column=mark.column + 1) from None
    except yaml.YAMLError as err:
        raise InputError(str(err).splitlines()[0] if str(err) else type(err).__name__) from None
    except RecursionError:
        raise InputError("nested too deeply") from None
    except (ValueError, TypeError, OverflowError, AttributeError) as err:
        # e.g. an implicit date that is no date (2024-13-45) or a 5,000-digit integer
        raise InputError(f"a value cannot be read ({type(err).__name__})") from None
    finally:
        if loader is not None:
            loader.dispose()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:57] + "..."
            raise InputError(f"duplicate key {shown}")
        result[key] = value
    return result


def load_json(text: str, *, limit: int = MAX_TEXT_BYTES) -> Any:
    """``json.loads`` refusing duplicate keys, huge text and deep nesting (InputError)."""
    if not isinstance(text, str):
        raise InputError(f"JSON must be text, not {type(text).__name__}")
    if len(text) > limit:
        raise InputError(f"larger than {_size(limit)}")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as err:
        raise InputError(err.msg, line=err.lineno, column=err.colno) from None
    except InputError:
        raise
    except RecursionError:
        raise InputError("nested too deeply") from None
    except ValueError as err:  # a number beyond int's digit limit
        raise InputError(f"a value cannot be read ({type(err).__name__})") from None


# C0/C1 controls and DEL (a terminal obeys ESC sequences; XML 1.0 cannot hold most of them at
# all) and the bidirectional overrides that make text read differently from what it holds.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``): what a user typed can
    neither drive the terminal that prints it nor break the XML or HTML it lands in.
    Line breaks and tabs are kept."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
