"""The README's GraphQL blocks: one named operation each, valid against schema.graphql,
so tools (GraphiQL, codegen, persisted-document builds) can take them as they are."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import OperationDefinitionNode, build_schema, parse, validate

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```graphql\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_every_readme_block_is_one_named_valid_operation():
    schema = build_schema((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    assert len(BLOCKS) >= 8
    names = []
    for block in BLOCKS:
        document = parse(block)
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        assert len(operations) == 1, block
        assert operations[0].name is not None, block
        names.append(operations[0].name.value)
        assert validate(schema, document) == [], block
    assert len(names) == len(set(names)), names
