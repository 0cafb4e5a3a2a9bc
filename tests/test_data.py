"""course_utils.data: the shipped sample, local folders in every format, and every way a file can be wrong.

Each bad file's error must name the file (absolute path), the line where it applies (line 1 is
the header) and the fix; the tests match a few key terms of each.
"""

from __future__ import annotations

import os
import re

import datasets
import pandas as pd
import pytest

from course_utils import data
from course_utils.data import SAMPLE_DIR, DataFileError, load_split_file, load_sst2

HEADER = "sentence\tlabel\tidx"
ROWS = ["a gorgeous , witty film\t1\t10", 'it \'s a "gem" , said no one \t0\t11', "dull and 'boring'\t0\t12"]
GOOD = pd.DataFrame({
    "sentence": ["a gorgeous , witty film", 'it \'s a "gem" , said no one ', "dull and 'boring'"],
    "label": [1, 0, 0],
    "idx": [10, 11, 12],
})


def write_lines(path, lines, encoding="utf-8"):
    """A TSV file as a user would have it: the lines as given, tab-separated, no quoting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def good_folder(folder, fmt="tsv"):
    folder.mkdir(parents=True, exist_ok=True)
    for split, df in (("train", GOOD), ("validation", GOOD.iloc[:2])):
        if fmt == "tsv":
            write_lines(folder / "train.tsv" if split == "train" else folder / "validation.tsv",
                        [HEADER] + ROWS[: len(df)])
        elif fmt == "csv":
            df.to_csv(folder / f"{split}.csv", index=False)
        elif fmt == "csv.gz":
            df.to_csv(folder / f"{split}.csv.gz", index=False)
        else:
            df.to_parquet(folder / f"{split}.parquet", index=False)
    return folder


def with_train(folder, name, df=GOOD, **to_csv):
    """A good folder whose train split is ``df`` written by pandas' ``to_csv`` to ``name``."""
    (good_folder(folder) / "train.tsv").unlink()
    df.to_csv(folder / name, **to_csv)
    return folder


def raises(path, *terms, error=DataFileError):
    """Load the folder of ``path`` (or ``path`` itself); the error must name the file and each term."""
    folder = path if path.is_dir() else path.parent
    with pytest.raises(error) as err:
        load_sst2(folder)
    message = str(err.value)
    assert str(path.resolve()) in message, message
    for term in terms:
        assert re.search(term, message), (term, message)
    return message


# ---------------------------------------------------------------------------------------
# The shipped sample, loaded by datasets' own machinery


def _file_rows(name):
    lines = (SAMPLE_DIR / name).read_text(encoding="utf-8").splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def test_sample_sizes_match_the_shipped_files(sample):
    assert set(sample) == {"train", "validation"}  # no test split in the sample
    for split in ("train", "validation"):
        header, rows = _file_rows(f"{split}.tsv")
        assert header == ["sentence", "label", "idx"]
        assert sample[split].num_rows == len(rows)
    assert (sample["train"].num_rows, sample["validation"].num_rows) == (2000, 200)  # as its README says


def test_sample_has_the_hub_features(sample):
    for split in sample.values():
        assert split.features == data.features()
        assert split.column_names == ["sentence", "label", "idx"]
    assert sample["train"].features["label"].names == ["negative", "positive"]


def test_sample_content_is_the_file_verbatim(sample):
    _, rows = _file_rows("validation.tsv")
    assert sample["validation"]["sentence"] == [r[0] for r in rows]
    assert sample["validation"]["label"] == [int(r[1]) for r in rows]
    assert sample["validation"]["idx"] == [int(r[2]) for r in rows]


def test_loaded_data_lives_in_the_datasets_cache(sample):
    for split in sample.values():
        files = [f["filename"] for f in split.cache_files]
        assert files and all(f.startswith(str(datasets.config.HF_DATASETS_CACHE)) for f in files)


def test_map_results_are_cached_by_datasets(tmp_path):
    folder = good_folder(tmp_path / "sst2")

    def lengths(batch):
        return {"n_chars": [len(s) for s in batch["sentence"]]}

    first = load_sst2(folder)["train"].map(lengths, batched=True)
    second = load_sst2(folder)["train"].map(lengths, batched=True)  # a new load, as in another notebook
    assert first.cache_files == second.cache_files
    assert second["n_chars"] == [len(s) for s in GOOD["sentence"]]


# ---------------------------------------------------------------------------------------
# Local folders: TSV, CSV, Parquet, save_to_disk


@pytest.mark.parametrize("fmt", ["tsv", "csv", "csv.gz", "parquet"])
def test_folder_formats_load_verbatim(tmp_path, fmt):
    raw = load_sst2(good_folder(tmp_path / "sst2", fmt))
    assert set(raw) == {"train", "validation"}
    assert raw["train"].features == data.features()
    assert raw["train"]["sentence"] == GOOD["sentence"].tolist()  # quotes and trailing blank kept
    assert raw["train"]["label"] == GOOD["label"].tolist()
    assert raw["train"]["idx"] == GOOD["idx"].tolist()
    assert raw["validation"].num_rows == 2


def test_extra_columns_dropped_and_idx_made_when_missing(tmp_path):
    raw = load_sst2(with_train(tmp_path, "train.csv", GOOD.drop(columns="idx").assign(source=list("xyz")), index=False))
    assert raw["train"].column_names == ["sentence", "label", "idx"]
    assert raw["train"]["idx"] == [0, 1, 2]


def test_save_to_disk_folder_round_trips(tmp_path, sample):
    folder = tmp_path / "saved"
    sample.save_to_disk(str(folder))
    raw = load_sst2(folder)
    for split in ("train", "validation"):
        assert raw[split].features == data.features()
        for column in ("sentence", "label", "idx"):
            assert raw[split][column] == sample[split][column]


def test_test_split_may_hide_labels(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    write_lines(folder / "test.tsv", [HEADER, "fine\t-1\t0", "bad\t-1\t1"])
    raw = load_sst2(folder)
    assert set(raw) == {"train", "validation", "test"}
    assert raw["test"]["label"] == [-1, -1]
    write_lines(folder / "test.tsv", ["idx\tsentence", "0\tfine"])  # GLUE's own test file: no label column
    assert load_sst2(folder)["test"]["label"] == [-1]


def test_relative_folder_starts_from_course_start_dir(tmp_path, monkeypatch):
    good_folder(tmp_path / "data" / "sst2")
    monkeypatch.setenv("COURSE_START_DIR", str(tmp_path))
    assert load_sst2("data/sst2")["train"].num_rows == 3


# ---------------------------------------------------------------------------------------
# Wrong folders


def test_missing_folder_shows_its_absolute_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"Data folder {tmp_path / 'nope'} not found") +
                       r".*COURSE_DATA.*train\.tsv and validation\.tsv"):
        load_sst2(tmp_path / "nope")


@pytest.mark.parametrize("present, missing", [(["train"], "validation"), (["validation"], "train"),
                                              ([], "train or validation")])
def test_folder_missing_a_split(tmp_path, present, missing):
    folder = tmp_path / "sst2"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    for split in present:
        write_lines(folder / f"{split}.tsv", [HEADER, *ROWS])
    raises(folder, rf"has no {missing} split \(it holds .*notes\.txt.*\)", r"Put train\.tsv and validation\.tsv there",
           error=FileNotFoundError)


def test_glue_download_names_its_validation_file_dev(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    (folder / "validation.tsv").rename(folder / "dev.tsv")
    raises(folder, "no validation split", r"rename it to validation\.tsv", error=FileNotFoundError)


def test_save_to_disk_folder_without_validation(tmp_path, sample):
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": sample["train"]}).save_to_disk(str(folder))
    raises(folder, "has no validation split", error=FileNotFoundError)


def test_a_single_saved_dataset_is_not_enough(tmp_path, sample):
    folder = tmp_path / "saved"
    sample["train"].save_to_disk(str(folder))
    raises(folder, "one Dataset", "DatasetDict with train and validation")


def test_several_files_for_one_split(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    GOOD.to_csv(folder / "train.csv", index=False)
    message = raises(folder, "several files for the train split", "Keep one")
    assert str(folder / "train.tsv") in message and str(folder / "train.csv") in message


# ---------------------------------------------------------------------------------------
# Wrong files: each error names the file, the line and the fix


@pytest.mark.parametrize("header, terms", [
    ("text\tlabel\tidx", [r"no column 'sentence'", r"rename the column 'text' to 'sentence'", "line 1"]),
    ("Sentence\tsentiment", [r"no column 'sentence' or 'label'", "rename the column 'Sentence' to 'sentence'",
                             "rename the column 'sentiment' to 'label'"]),
    ("sentence\tidx", [r"no column 'label'", r"'label' column \(0 = negative, 1 = positive\)"]),
])
def test_missing_columns_with_rename_hint(tmp_path, header, terms):
    folder = good_folder(tmp_path / "sst2")
    row = "\t".join(["fine", "1", "0"][: header.count("\t") + 1])
    path = write_lines(folder / "validation.tsv", [header, row])
    raises(path, *terms)


def test_file_without_header(tmp_path):
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", ROWS)
    raises(path, "no column 'sentence' or 'label'", "first line looks like data", "add the header line")


def test_duplicated_column(tmp_path):
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", ["sentence\tlabel\tlabel", "fine\t1\t1"])
    raises(path, "names 'label' twice", "one name")


@pytest.mark.parametrize("content, terms", [
    (b"", ["empty", "Copy the file again"]),
    (b"\n\n", [r"empty \(no header line\)"]),
    (b"sentence\tlabel\tidx\n", ["no rows below the header", "at least one sentence"]),
])
def test_empty_files(tmp_path, content, terms):
    path = good_folder(tmp_path / "sst2") / "validation.tsv"
    path.write_bytes(content)
    raises(path, *terms)


@pytest.mark.parametrize("bad_row, line", [(0, 2), (2, 4)])  # the first data row is a case of its own for pandas
def test_raw_tab_inside_a_sentence(tmp_path, bad_row, line):
    rows = list(ROWS)
    rows[bad_row] = "a tab\tinside\t1\t5"
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", [HEADER, *rows])
    raises(path, rf"line {line}: 4 fields where the header has 3", "raw tab", "replace it with a space")


def test_raw_tab_far_down_a_large_file(tmp_path):
    rows = [f"sentence {i}\t{i % 2}\t{i}" for i in range(25_000)]  # more than one pandas chunk
    rows[21_000] = "a tab\tinside\t1\t21000"
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", [HEADER, *rows])
    raises(path, r"line 21002: 4 fields", "raw tab")


def test_comma_outside_quotes_in_a_csv(tmp_path):
    folder = tmp_path / "sst2"
    path = write_lines(folder / "train.csv", ["sentence,label", '"fine, really",1', "bad, really,0"])
    GOOD.to_csv(folder / "validation.csv", index=False)
    raises(path, r"line 3: 3 fields where the header has 2", "double quotes")


def test_non_utf8_bytes(tmp_path):
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", [HEADER, ROWS[0], "caf\xe9 au lait\t1\t5"],
                       encoding="latin-1")
    raises(path, r"line 3: not UTF-8 text \(byte 0xe9\)", "Save the file as UTF-8", "iconv")


def test_parquet_file_named_tsv(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    GOOD.to_parquet(folder / "train.tsv", index=False)
    raises(folder / "train.tsv", "a Parquet file with a .tsv name", r"Rename it to train\.parquet")


def test_text_file_named_parquet(tmp_path):
    folder = good_folder(tmp_path / "sst2", "parquet")
    (folder / "validation.parquet").write_text("\n".join([HEADER, *ROWS]))
    raises(folder / "validation.parquet", "cannot be read as PARQUET", r"real name \(validation\.tsv")


@pytest.mark.parametrize("value", ["abc", "²", "1.5", "-3", ""])
def test_idx_that_is_not_a_whole_number(tmp_path, value):
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", [HEADER, ROWS[0], f"fine\t1\t{value}"])
    raises(path, rf"1 idx value\(s\) that are not whole numbers.*{re.escape(repr(value))} at line 3",
           "delete the whole column")


@pytest.mark.parametrize("value", ["2", "x", "0.5", "", "-1"])
def test_labels_out_of_range(tmp_path, value):
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", [HEADER, ROWS[0], f"fine\t{value}\t1"])
    raises(path, rf"1 label\(s\) out of range: {re.escape(repr(value))} at line 3",
           r"0 \(negative\) or 1 \(positive\); only a test split may use -1")


def test_labels_out_of_range_in_parquet_count_rows_from_one(tmp_path):
    folder = good_folder(tmp_path / "sst2", "parquet")
    GOOD.assign(label=[1, 2, 0]).to_parquet(folder / "train.parquet", index=False)
    raises(folder / "train.parquet", r"'2' at row 2")


def test_test_split_labels_still_checked(tmp_path):
    path = write_lines(good_folder(tmp_path / "sst2") / "test.tsv", [HEADER, "fine\t2\t0"])
    raises(path, r"'2' at line 2", r"or -1 \(hidden, test split only\)")


def test_empty_sentences_and_blank_lines(tmp_path):
    lines = [HEADER, ROWS[0], "\t1\t7", "   \t0\t8", "", *ROWS[1:]]
    path = write_lines(good_folder(tmp_path / "sst2") / "train.tsv", lines)
    raises(path, r"3 empty sentence\(s\), at line 3, line 4, line 5", "Remove those lines")


def test_missing_sentence_in_parquet(tmp_path):
    folder = good_folder(tmp_path / "sst2", "parquet")
    GOOD.assign(sentence=[None, "fine", "ok"]).to_parquet(folder / "validation.parquet", index=False)
    raises(folder / "validation.parquet", r"1 empty sentence\(s\), at row 1")


def test_unknown_file_type(tmp_path):
    path = tmp_path / "train.json"
    path.write_text("{}")
    with pytest.raises(DataFileError, match=re.escape(str(path)) + r": cannot read this file type\. Use a \.tsv"):
        load_split_file(path)


# ---------------------------------------------------------------------------------------
# Files from common tools read as written


QUOTES = pd.DataFrame({
    "sentence": ['"wow" , he said', 'a "gem" of a film', 'a tab\there', '"', "plain"],
    "label": [1, 1, 0, 0, 1],
    "idx": [0, 1, 2, 3, 4],
})


def test_pandas_tsv_reads_like_its_csv_twin(tmp_path):
    tsv = load_sst2(with_train(tmp_path / "tsv", "train.tsv", QUOTES, sep="\t", index=False))["train"]
    csv = load_sst2(with_train(tmp_path / "csv", "train.csv", QUOTES, index=False))["train"]
    assert tsv["sentence"] == csv["sentence"] == QUOTES["sentence"].tolist()


@pytest.mark.parametrize("sentences", [
    ['"unclosed quote starts here', "next line", "it 's ''fine''"],  # with quoting, line 2 would swallow line 3
    ['"wow" , he said', 'a "gem"', '"unclosed', 'it \'s ""odd""'],  # no CSV writer wrote these
    ['"wow"', 'a "gem"'],  # a CSV writer would not quote "wow": its quotes are text
])
def test_glue_tsv_keeps_bare_quotes(tmp_path, sentences):
    folder = good_folder(tmp_path / "sst2")
    write_lines(folder / "train.tsv", [HEADER, *(f"{s}\t1\t{i}" for i, s in enumerate(sentences))])
    assert load_sst2(folder)["train"]["sentence"] == sentences


@pytest.mark.parametrize("fmt, sep", [("tsv", "\t"), ("csv", ",")])
def test_pandas_index_column_is_ignored(tmp_path, fmt, sep):
    raw = load_sst2(with_train(tmp_path, f"train.{fmt}", GOOD.set_index(pd.Index([5, 6, 7])), sep=sep))["train"]
    assert raw.column_names == ["sentence", "label", "idx"]
    assert raw["sentence"] == GOOD["sentence"].tolist() and raw["idx"] == GOOD["idx"].tolist()


@pytest.mark.parametrize("name", ["train.csv", "train.csv.gz", "train.tsv"])
def test_byte_order_mark_and_windows_line_ends(tmp_path, name):  # as spreadsheets write them
    folder = with_train(tmp_path, name, sep="," if ".csv" in name else "\t", index=False, encoding="utf-8-sig",
                        lineterminator="\r\n")
    assert load_sst2(folder)["train"]["sentence"] == GOOD["sentence"].tolist()


def flipped(sample, names):
    """The sample with its label ids swapped and the names given, so each row's label NAME is unchanged
    when ``names`` is the course's pair reversed."""
    label = datasets.ClassLabel(names=names)
    return sample.map(lambda b: {"label": [1 - v for v in b["label"]]}, batched=True,
                      features=datasets.Features({**sample["train"].features, "label": label}))


def test_saved_labels_are_matched_by_name(tmp_path, sample):
    folder = tmp_path / "saved"
    flipped(sample, ["positive", "negative"]).save_to_disk(str(folder))
    raw = load_sst2(folder)
    assert raw["train"].features == data.features()
    assert raw["train"]["label"] == sample["train"]["label"]  # every row means what it meant


def test_saved_labels_with_other_names_are_refused(tmp_path, sample):
    folder = tmp_path / "saved"
    flipped(sample, ["bad", "good"]).save_to_disk(str(folder))
    message = raises(folder, r"labels are named \['bad', 'good'\]", "'negative' and 'positive'")
    assert "train split" in message


def test_file_replaced_with_the_same_mtime_is_read_again(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    path = folder / "train.tsv"
    assert load_sst2(folder)["train"].num_rows == 3
    before = path.stat()
    write_lines(path, [HEADER, "new row\t1\t0", "another\t0\t1"])  # as cp -p or rsync -a leave it
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert load_sst2(folder)["train"]["sentence"] == ["new row", "another"]
    write_lines(path, [HEADER, "new row\t1\t0", "bad label\t7\t1"])
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    raises(path, r"'7' at line 3")


def test_truncated_parquet(tmp_path):
    folder = good_folder(tmp_path / "sst2", "parquet")
    path = folder / "train.parquet"
    path.write_bytes(path.read_bytes()[:-20])
    raises(path, "cannot be read", "copy it again")
