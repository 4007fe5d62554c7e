"""`simulate --schema FILE`: a file that cannot be served is refused before listening."""

from __future__ import annotations

from pathlib import Path

import pytest

from batch_runner import cli


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read schema file"),
        (b"type Query { x: Nope }\n", "is not a GraphQL schema: Unknown type 'Nope'"),
        (b"type Query {\n", "is not a GraphQL schema"),
        (b"\xff\xfe type", "is not UTF-8"),
    ],
)
def test_a_bad_schema_file_is_exit_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, words: str
) -> None:
    """Missing, invalid SDL, cut short, not UTF-8: exit 2 with the file's name, no traceback."""
    path = tmp_path / "schema.graphql"
    if content is not None:
        path.write_bytes(content)
    code = cli.main(["simulate", "--port", "0", "--schema", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err
    assert str(path) in err
    assert "Traceback" not in err
