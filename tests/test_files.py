"""course_utils.files: whole files or the old ones, and JSON read back with errors that name the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from course_utils.files import json_roundtrip, read_json, write_atomic, write_json, write_text


def test_a_writer_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = write_text(tmp_path / "record.json", "old")

    def half_then_fail(tmp: Path):
        tmp.write_text("ne")
        raise KeyboardInterrupt("kernel stopped while writing")

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, half_then_fail)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_a_failed_rename_leaves_the_old_file(tmp_path, monkeypatch):
    target = write_json(tmp_path / "record.json", {"accuracy": 0.5})
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_json(target, {"accuracy": 0.9})
    monkeypatch.undo()
    assert read_json(target) == {"accuracy": 0.5} and len(list(tmp_path.iterdir())) == 1


def test_written_files_are_readable_by_all_and_folders_are_created(tmp_path):
    target = write_json(tmp_path / "new" / "record.json", {"path": tmp_path, "pair": (1, 2)})
    assert target.stat().st_mode & 0o777 == 0o644
    assert read_json(target) == json_roundtrip({"path": tmp_path, "pair": (1, 2)}) == {"path": str(tmp_path),
                                                                                       "pair": [1, 2]}


@pytest.mark.parametrize("content, error, words", [
    (None, FileNotFoundError, "does not exist"),
    *[(content, ValueError, "is not readable JSON.*restore it") for content in (b'{"runs": [', b"\xff\xfe", b"")]])
def test_read_json_names_what_and_the_path_of_a_missing_or_garbled_file(tmp_path, content, error, words):
    if content is not None:
        (tmp_path / "cut.json").write_bytes(content)
    with pytest.raises(error, match=rf"the grid record .*cut\.json {words}"):
        read_json(tmp_path / "cut.json", "the grid record")


def test_the_tests_write_only_into_temporary_caches():
    """The top-level conftest.py points every library's cache at this session's temporary folder."""
    import datasets.config
    import huggingface_hub.constants

    from course_utils.sources import cache_dir

    for folder in (datasets.config.HF_DATASETS_CACHE, huggingface_hub.constants.HF_HUB_CACHE, cache_dir()):
        assert Path(folder).is_relative_to(Path(os.environ["COURSE_CACHE"]).parent), folder
