"""The one way genpage reads a YAML file it is handed (campaigns, column mappings): `load_yaml_document`.

Anchors and aliases are refused before anything is built (a few hundred bytes of nested aliases expand to billions
of values), and so is nesting deeper than YAML_MAX_DEPTH; libyaml's safe loader is used where installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from genpage.errors import GenpageError

YAML_MAX_DEPTH = 32  # nested mappings and lists; genpage's own files need 4


class YamlRefusedError(GenpageError):
    """A YAML text genpage will not build: anchors and aliases (`&a`, `*a`: a few hundred bytes of nested aliases
    expand to billions of values) or nesting deeper than YAML_MAX_DEPTH. `line` and `column` are 1-based."""

    def __init__(self, problem: str, line: int, column: int):
        super().__init__(f"line {line}, column {column}: {problem}")
        self.problem, self.line, self.column = problem, line, column


@dataclass
class YamlDocument:
    """A YAML document's data and its node tree (for the line of a key, see `line_of`)."""

    data: Any
    root: Any = None  # the yaml.Node the data was built from; None for an empty document

    def line_of(self, path: Sequence[str]) -> int | None:
        """The 1-based line of the key (or list item) at `path`, e.g. ("audience", "users", "3"); None if absent.
        Walks down the path only, so it costs the length of the path, not the size of the document."""
        node, line = self.root, None
        for step in path:
            kind = getattr(node, "id", "")
            if kind == "mapping":
                found = next(((key, value) for key, value in node.value if str(key.value) == step), None)
                if found is None:
                    return None
                line, node = found[0].start_mark.line + 1, found[1]
            elif kind == "sequence" and step.isdigit() and int(step) < len(node.value):
                node = node.value[int(step)]
                line = node.start_mark.line + 1
            else:
                return None
        return line


def _refuse_unsafe_events(text: str, loader: Any) -> None:
    """One pass over the parser's events (no values built): refuse anchors, aliases and deep nesting."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=loader):
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise YamlRefusedError("anchors (&name) and aliases (*name) are not allowed: write the values out",
                                   mark.line + 1, mark.column + 1)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > YAML_MAX_DEPTH:
                raise YamlRefusedError(f"lists and mappings nested deeper than {YAML_MAX_DEPTH} levels",
                                       mark.line + 1, mark.column + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml_document(text: str) -> YamlDocument:
    """Parse one YAML document with the safe loader (libyaml's when installed). Anchors, aliases and deep nesting
    are refused before anything is built (YamlRefusedError); yaml.YAMLError for text that is not YAML."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _refuse_unsafe_events(text, loader_class)
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return YamlDocument(data, root)


def load_yaml(text: str) -> Any:
    """The data of one YAML document, read as `load_yaml_document` reads it."""
    return load_yaml_document(text).data
