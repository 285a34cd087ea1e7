"""Parquet layout names, file stores (local), TTL shortening and the import's savepoint rules, without servers."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from migrator.backends.cassandra import schema as cschema
from migrator.backends.parquet import layout
from migrator.backends.parquet.store import Store, same_file
from migrator.errors import RuntimeFailure


def test_metadata_column_names_are_upstreams_and_parse_back() -> None:
    assert layout.meta_name("v", layout.WRITETIME) == "__migrator_meta_v_writetime"
    assert layout.meta_of("__migrator_meta_my_col_ttl") == ("my_col", "ttl")
    assert layout.meta_of("__migrator_meta__writetime") is None
    assert layout.meta_of("v_ttl") is None
    assert layout.meta_type(layout.TTL, multicell=True) == "list<int>"


def test_the_table_schema_survives_the_file_metadata() -> None:
    schema = cschema.TableSchema("ks", "t", (cschema.Column("k", "int", cschema.PARTITION),
                                            cschema.Column("c", "text", cschema.CLUSTERING, reversed=True),
                                            cschema.Column("p", "place", cschema.REGULAR, multicell="udt")),
                                 default_ttl=60, user_types=(("place", "name text"),))
    back, user_types = layout.table_from_json(layout.table_json(schema, {"place": (("name", "text"),)}))
    assert back == schema and user_types == {"place": (("name", "text"),)}
    with pytest.raises(ValueError, match=r"migrator\.table"):
        layout.table_from_json('{"columns": 3}')


@pytest.mark.parametrize(("a", "b"), [
    ("file:/data/x.parquet", "/data/x.parquet"),
    ("file:///data/x.parquet", "file:/data/x.parquet"),
    ("s3a://b/k/x.parquet", "s3://b/k/x.parquet"),
])
def test_one_file_has_one_name_whatever_its_spelling(a: str, b: str) -> None:
    assert same_file(a) == same_file(b)


def test_a_local_listing_skips_hidden_names_and_reads_recursively(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "part-1.parquet").write_bytes(b"x")
    (tmp_path / "part-0.parquet").write_bytes(b"xy")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".part-2.parquet.tmp").write_text("")
    (tmp_path / "_temporary").mkdir()
    (tmp_path / "_temporary" / "part-9.parquet").write_text("")
    files = Store(str(tmp_path)).listing()
    assert [Path(same_file(f.uri)[1]).name for f in files] == ["part-1.parquet", "part-0.parquet"]
    assert files[1].size == 2 and files[1].uri.startswith("file:/")
    assert [f.uri for f in Store(str(tmp_path / "part-0.parquet")).listing()] == [files[1].uri]


def test_a_file_replaced_since_it_was_listed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "part-0.parquet"
    path.write_bytes(b"one")
    store = Store(str(tmp_path))
    (file,) = store.listing()
    with store.local_copy(file) as local:
        assert Path(local).read_bytes() == b"one"
    path.write_bytes(b"other")
    os.utime(path, ns=(1, 1))
    with pytest.raises(RuntimeFailure, match="changed since the run was planned"), store.local_copy(file):
        pass
    path.unlink()
    with pytest.raises(RuntimeFailure, match="gone"), store.local_copy(file):
        pass


def test_ttls_are_shortened_by_the_time_since_the_export_never_below_one_second() -> None:
    from migrator.backends.parquet.loader import shorten

    assert shorten(pa.array([100, None, 5], pa.int32()), 10).to_pylist() == [90, None, 1]
    lists = pa.array([[100, 3], None, []], pa.list_(pa.int32()))
    assert shorten(lists, 10).to_pylist() == [[90, 1], None, []]
    assert shorten(lists, 0) is lists


def test_a_file_uri_names_a_local_folder_and_markers_are_written_under_hidden_names(tmp_path: Path) -> None:
    from migrator.backends.parquet.store import store_for

    store = store_for(f"file://{tmp_path}", None, "target")
    assert store.location == str(tmp_path) and not store.remote
    store.put_text("_SUCCESS", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_SUCCESS"]
    assert store.listing() == []
