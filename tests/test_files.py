"""Reading JSON and YAML files: `paratune._files.load_mapping`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paratune._files import load_mapping
from paratune.errors import SpecError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["space.json", "space.yaml", "space.yml", "SPACE.YAML"])
def test_reads_each_format(tmp_path: Path, name: str) -> None:
    text = '{"b": 1, "a": [1, 2], "c": {"type": "int", "low": 1, "high": 3}}'
    data = load_mapping(write(tmp_path / name, text))  # JSON is also YAML
    assert data == {"b": 1, "a": [1, 2], "c": {"type": "int", "low": 1, "high": 3}}
    assert list(data) == ["b", "a", "c"]


def test_accepts_a_string_path(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", "x: 1\n")
    assert load_mapping(str(path)) == {"x": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e-3", 1e-3),
        ("1E5", 1e5),
        ("-2.5e-4", -2.5e-4),
        ("+1.0e5", 1e5),
        (".5e1", 5.0),
        ("0.001", 0.001),
        ("1_000", 1000),
        ("1e3x", "1e3x"),
        ("e5", "e5"),
    ],
)
def test_yaml_reads_exponents_as_numbers(tmp_path: Path, text: str, expected: object) -> None:
    # PyYAML alone reads "1e-3" as a string (YAML 1.1); spaces are full of such learning rates.
    data = load_mapping(write(tmp_path / "s.yaml", f"lr: {text}\n"))
    assert data["lr"] == expected
    assert type(data["lr"]) is type(expected)


def test_yaml_never_builds_python_objects(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", "x: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(SpecError, match="malformed YAML"):
        load_mapping(path)


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("s.toml", "x = 1", r"unknown file extension '\.toml'; expected \.json, \.yaml or \.yml"),
        ("s", "x: 1", r"unknown file extension ''"),
        ("s.json", '{"x": 1,\n "y": }', r"malformed JSON at line 2, column 7: Expecting value"),
        ("s.json", "", r"malformed JSON at line 1, column 1"),
        ("s.yaml", "x: [1, 2\ny: 3\n", r"malformed YAML at line 2, column 2"),
        ("s.yaml", "x: 1\n  y: 2\n", r"malformed YAML at line 2, column 4"),
        ("s.json", "[1, 2]", r"the top level must be a mapping of keys to values, got a list"),
        ("s.yaml", "- 1\n- 2\n", r"the top level must be a mapping .*, got a list"),
        ("s.yaml", "just text\n", r"the top level must be a mapping .*, got a str"),
        ("s.yaml", "", r"the top level must be a mapping .*, got an empty document"),
        ("s.yaml", "1: a\n", r"top-level key 1 must be a string"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(SpecError, match=match) as info:
        load_mapping(path)
    assert str(info.value).startswith(f"{path}: ")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(SpecError, match=re.escape(f"{path}: does not exist")):
        load_mapping(path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=re.escape(f"{tmp_path}: is a directory, not a file")):
        load_mapping(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"x: \xff\xfe\n")
    with pytest.raises(SpecError, match=re.escape(f"{path}: cannot read the file")):
        load_mapping(path)
