"""course_utils.data: the shipped sample, local folders in every format, and every way a file can be wrong.

Each bad file's error must name the file (absolute path), the line where it applies (line 1 is
the header) and the fix; the tests match a few key terms of each.
"""

from __future__ import annotations

import gzip
import os
import re

import datasets
import pandas as pd
import pytest

from course_utils import data, sources
from course_utils.data import SAMPLE_DIR, DataFileError, load_split_file, load_sst2

HEADER = "sentence\tlabel\tidx"
ROWS = ["a gorgeous , witty film\t1\t10", 'it \'s a "gem" , said no one \t0\t11', "dull and 'boring'\t0\t12"]
GOOD = pd.DataFrame({"sentence": [row.split("\t")[0] for row in ROWS], "label": [1, 0, 0], "idx": [10, 11, 12]})


def lines(*rows, encoding="utf-8"):
    """A text file as a user would have it: the lines as given, no quoting."""
    return ("\n".join(rows) + "\n").encode(encoding)


def pandas_csv(df=GOOD, encoding="utf-8", **to_csv):
    return df.to_csv(**{"index": False, **to_csv}).encode(encoding)


def parquet(df=GOOD):
    return df.to_parquet(index=False)


def table(sentences):
    return pd.DataFrame({"sentence": sentences, "label": 1, "idx": range(len(sentences))})


def folder_with(tmp_path, name="train.tsv", content=lines(HEADER, *ROWS)):
    """A good TSV folder (3 train rows, 2 validation rows) whose file for the split of ``name`` is ``name``."""
    folder = tmp_path / "sst2"
    folder.mkdir()
    for split, rows in (("train", ROWS), ("validation", ROWS[:2])):
        (folder / f"{split}.tsv").write_bytes(lines(HEADER, *rows))
    for old in data.split_files(folder, name.split(".")[0]):
        old.unlink()
    (folder / name).write_bytes(content)
    return folder


def raises(path, *terms, error=DataFileError):
    """Load the folder of ``path`` (or ``path`` itself); the error must name the file and each term."""
    with pytest.raises(error, match=re.escape(str(path.resolve()))) as err:
        load_sst2(path if path.is_dir() else path.parent)
    for term in terms:
        assert re.search(term, str(err.value)), (term, str(err.value))


def flipped(sample, names):
    """The sample, label ids swapped and named ``names`` (the course's pair reversed: each row means the same)."""
    label = datasets.ClassLabel(names=names)
    return sample.map(lambda b: {"label": [1 - v for v in b["label"]]}, batched=True,
                      features=datasets.Features({**sample["train"].features, "label": label}))


# --- The shipped sample, and files from common tools: read as written, by datasets' own machinery ---

def test_the_sample_is_its_files_verbatim_with_the_hub_features(sample):
    assert set(sample) == {"train", "validation"}  # no test split in the sample
    for split, size in (("train", 2000), ("validation", 200)):  # as its README says
        header, *rows = (line.split("\t") for line in (SAMPLE_DIR / f"{split}.tsv").read_text("utf-8").splitlines())
        assert sample[split].features == data.features() and sample[split].column_names == header
        assert [[str(v) for v in row.values()] for row in sample[split]] == rows and len(rows) == size
        files = [f["filename"] for f in sample[split].cache_files]  # kept in the datasets cache
        assert files and all(f.startswith(str(datasets.config.HF_DATASETS_CACHE)) for f in files)
    assert sample["train"].features["label"].names == ["negative", "positive"]
    lengths = {"function": lambda batch: {"n": [len(s) for s in batch["sentence"]]}, "batched": True}
    again = load_sst2("sample")["train"].map(**lengths)  # a new load, as in another notebook
    assert again.cache_files and again.cache_files == sample["train"].map(**lengths).cache_files  # map is cached


QUOTES = table(['"wow" , he said', 'a "gem" of a film', 'a tab\there', '"', "plain"])
READ_AS_WRITTEN = {  # the train file's name, its bytes, the train split it holds
    "tsv": ("train.tsv", lines(HEADER, *ROWS), GOOD),  # quotes and the trailing blank kept
    "parquet": ("train.parquet", parquet(), GOOD),
    "extra column, no idx": ("train.csv", pandas_csv(GOOD.drop(columns="idx").assign(source=list("xyz"))),
                             GOOD.assign(idx=[0, 1, 2])),
    "pandas tsv": ("train.tsv", pandas_csv(QUOTES, sep="\t"), QUOTES),  # quoted as its csv twin is
    "pandas csv": ("train.csv", pandas_csv(QUOTES), QUOTES),
    "pandas index tsv": ("train.tsv", pandas_csv(GOOD.set_index(pd.Index([5, 6, 7])), sep="\t", index=True), GOOD),
    "pandas index csv": ("train.csv", pandas_csv(GOOD.set_index(pd.Index([5, 6, 7])), index=True), GOOD),
    # as spreadsheets write them: a byte order mark and Windows line ends
    "spreadsheet csv": ("train.csv", pandas_csv(encoding="utf-8-sig", lineterminator="\r\n"), GOOD),
    "spreadsheet csv.gz": ("train.csv.gz", gzip.compress(pandas_csv(encoding="utf-8-sig", lineterminator="\r\n")),
                           GOOD),
    "spreadsheet tsv": ("train.tsv", pandas_csv(encoding="utf-8-sig", lineterminator="\r\n", sep="\t"), GOOD),
    **{f"GLUE quotes {n}": ("train.tsv", lines(HEADER, *(f"{s}\t1\t{i}" for i, s in enumerate(sentences))),
                            table(sentences)) for n, sentences in enumerate([
        ['"unclosed quote starts here', "next line", "it 's ''fine''"],  # with quoting, line 2 would swallow 3
        ['"wow" , he said', 'a "gem"', '"unclosed', 'it \'s ""odd""'],  # no CSV writer wrote these
        ['"wow"', 'a "gem"'],  # a CSV writer would not quote "wow": its quotes are text
    ])},
}


@pytest.mark.parametrize("name, content, expected", READ_AS_WRITTEN.values(), ids=READ_AS_WRITTEN.keys())
def test_files_are_read_as_written(tmp_path, name, content, expected):
    train = load_sst2(folder_with(tmp_path, name, content))["train"]
    assert train.features == data.features()
    assert train.to_dict() == expected.to_dict("list")


@pytest.mark.parametrize("names", [None, ["positive", "negative"]])
def test_save_to_disk_folder_round_trips_with_labels_matched_by_name(tmp_path, sample, names):
    (flipped(sample, names) if names else sample).save_to_disk(str(tmp_path / "saved"))
    raw = load_sst2(tmp_path / "saved")
    for split in sample:  # every row means what it meant
        assert raw[split].features == data.features() and raw[split].to_dict() == sample[split].to_dict()


def test_a_relative_folder_with_a_test_split_that_hides_labels(tmp_path, monkeypatch):
    folder = folder_with(tmp_path, "test.tsv", lines(HEADER, "fine\t-1\t0", "bad\t-1\t1"))
    monkeypatch.setenv("COURSE_START_DIR", str(tmp_path))
    raw = load_sst2("sst2")  # relative folders start from COURSE_START_DIR
    assert set(raw) == {"train", "validation", "test"} and raw["test"]["label"] == [-1, -1]
    (folder / "test.tsv").write_bytes(lines("idx\tsentence", "0\tfine"))  # GLUE's own test file: no label column
    assert load_sst2(folder)["test"]["label"] == [-1]


def test_file_replaced_with_the_same_size_and_mtime_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "SETTLED_NS", 0)  # file hashes kept at once: only the cache key can tell
    path = folder_with(tmp_path) / "train.tsv"
    assert load_sst2(path.parent)["train"]["label"] == [1, 0, 0]
    before = path.stat()

    def replace(*labels):  # other labels, same size, same modification time: as cp -p or rsync -a leave it
        path.write_bytes(lines(HEADER, *(re.sub(r"\t\d\t", f"\t{label}\t", row) for row, label in zip(ROWS, labels))))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert path.stat().st_size == before.st_size

    replace(0, 1, 1)
    assert load_sst2(path.parent)["train"]["label"] == [0, 1, 1]
    replace(0, 1, 7)
    raises(path, r"'7' at line 4")


# --- Wrong folders --------------------------------------------------------------------------------

def test_missing_folder_shows_its_absolute_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"Data folder {tmp_path / 'nope'} not found") +
                       r".*COURSE_DATA.*train\.tsv and validation\.tsv"):
        load_sst2(tmp_path / "nope")


@pytest.mark.parametrize("present, missing, terms", [
    (["train.tsv"], "validation", []), (["validation.tsv"], "train", []), ([], "train or validation", []),
    (["train.tsv", "dev.tsv"], "validation", [r"rename it to validation\.tsv"]),  # as GLUE's own download names it
])
def test_folder_missing_a_split(tmp_path, present, missing, terms):
    for name in ["notes.txt", *present]:
        (tmp_path / name).write_bytes(lines(HEADER, *ROWS))
    raises(tmp_path, rf"has no {missing} split \(it holds .*notes\.txt.*\)",
           r"Put train\.tsv and validation\.tsv there", *terms, error=FileNotFoundError)


@pytest.mark.parametrize("saved, error, terms", [
    (lambda s: datasets.DatasetDict({"train": s["train"]}), FileNotFoundError, ["has no validation split"]),
    (lambda s: s["train"], DataFileError, ["one Dataset", "DatasetDict with train and validation"]),
    (lambda s: flipped(s, ["bad", "good"]), DataFileError,
     [r"labels are named \['bad', 'good'\]", "'negative' and 'positive'", "train split"]),
], ids=["no validation", "one Dataset", "other label names"])
def test_a_bad_save_to_disk_folder(tmp_path, sample, saved, error, terms):
    saved(sample).save_to_disk(str(tmp_path / "saved"))
    raises(tmp_path / "saved", *terms, error=error)


def test_several_files_for_one_split(tmp_path):
    folder = folder_with(tmp_path)
    GOOD.to_csv(folder / "train.csv", index=False)
    raises(folder, "several files for the train split", "Keep one", re.escape(str(folder / "train.tsv")),
           re.escape(str(folder / "train.csv")))


def test_unknown_file_type(tmp_path):
    path = tmp_path / "train.json"
    path.write_text("{}")
    with pytest.raises(DataFileError, match=re.escape(str(path)) + r": cannot read this file type\. Use a \.tsv"):
        load_split_file(path)


# --- Wrong files: each error names the file, the line and the fix ---------------------------------

TAB = "a tab\tinside\t1\t5"
BAD_FILES = {  # the file written in a good folder, its bytes, key terms of the error
    "rename hint": ("validation.tsv", lines("text\tlabel\tidx", "fine\t1\t0"),
                    [r"no column 'sentence'", r"rename the column 'text' to 'sentence'", "line 1"]),
    "two rename hints": ("validation.tsv", lines("Sentence\tsentiment", "fine\t1"),
                         [r"no column 'sentence' or 'label'", "rename the column 'Sentence' to 'sentence'",
                          "rename the column 'sentiment' to 'label'"]),
    "no label": ("validation.tsv", lines("sentence\tidx", "fine\t0"),
                 [r"no column 'label'", r"'label' column \(0 = negative, 1 = positive\)"]),
    "no header": ("train.tsv", lines(*ROWS),
                  ["no column 'sentence' or 'label'", "first line looks like data", "add the header line"]),
    "duplicated column": ("train.tsv", lines("sentence\tlabel\tlabel", "fine\t1\t1"),
                          ["names 'label' twice", "one name"]),
    "empty": ("validation.tsv", b"", ["empty", "Copy the file again"]),
    "blank lines": ("validation.tsv", b"\n\n", [r"empty \(no header line\)"]),
    "header only": ("validation.tsv", lines(HEADER), ["no rows below the header", "at least one sentence"]),
    # the first data row is a case of its own for pandas; line 21,002 is beyond pandas' first chunk
    "tab in row 1": ("train.tsv", lines(HEADER, TAB, *ROWS[1:]),
                     [r"line 2: 4 fields where the header has 3", "raw tab", "replace it with a space"]),
    "tab in row 3": ("train.tsv", lines(HEADER, *ROWS[:2], TAB),
                     [r"line 4: 4 fields where the header has 3", "raw tab", "replace it with a space"]),
    "tab far down": ("train.tsv", lines(HEADER, *(TAB if i == 21_000 else f"s {i}\t1\t{i}" for i in range(25_000))),
                     [r"line 21002: 4 fields", "raw tab"]),
    "comma in a csv": ("train.csv", lines("sentence,label", '"fine, really",1', "bad, really,0"),
                       [r"line 3: 3 fields where the header has 2", "double quotes"]),
    "latin-1": ("train.tsv", lines(HEADER, ROWS[0], "caf\xe9 au lait\t1\t5", encoding="latin-1"),
                [r"line 3: not UTF-8 text \(byte 0xe9\)", "Save the file as UTF-8", "iconv"]),
    "parquet named tsv": ("train.tsv", parquet(), ["a Parquet file with a .tsv name", r"Rename it to train\.parquet"]),
    "text named parquet": ("validation.parquet", lines(HEADER, *ROWS),
                           ["cannot be read as PARQUET", r"real name \(validation\.tsv"]),
    "truncated parquet": ("train.parquet", parquet()[:-20], ["cannot be read", "copy it again"]),
    **{f"idx {value!r}": ("train.tsv", lines(HEADER, ROWS[0], f"fine\t1\t{value}"),
                          [rf"1 idx value\(s\) that are not whole numbers.*{re.escape(repr(value))} at line 3",
                           "delete the whole column"]) for value in ["abc", "²", "1.5", "-3", ""]},
    **{f"label {value!r}": ("train.tsv", lines(HEADER, ROWS[0], f"fine\t{value}\t1"),
                            [rf"1 label\(s\) out of range: {re.escape(repr(value))} at line 3",
                             r"0 \(negative\) or 1 \(positive\); only a test split may use -1"])
       for value in ["2", "x", "0.5", "", "-1"]},
    "label in parquet": ("train.parquet", parquet(GOOD.assign(label=[1, 2, 0])), [r"'2' at row 2"]),
    "label in a test split": ("test.tsv", lines(HEADER, "fine\t2\t0"),
                              [r"'2' at line 2", r"or -1 \(hidden, test split only\)"]),
    "empty sentences": ("train.tsv", lines(HEADER, ROWS[0], "\t1\t7", "   \t0\t8", "", *ROWS[1:]),
                        [r"3 empty sentence\(s\), at line 3, line 4, line 5", "Remove those lines"]),
    "empty sentence in parquet": ("validation.parquet", parquet(GOOD.assign(sentence=[None, "fine", "ok"])),
                                  [r"1 empty sentence\(s\), at row 1"]),
}


@pytest.mark.parametrize("name, content, terms", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_named_with_its_line_and_the_fix(tmp_path, name, content, terms):
    raises(folder_with(tmp_path, name, content) / name, *terms)
