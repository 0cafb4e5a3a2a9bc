"""course_utils.data: the shipped sample, local folders in every format, and every way a file can be wrong."""

from __future__ import annotations

import re

import datasets
import pandas as pd
import pytest

from course_utils import data
from course_utils.data import SAMPLE_DIR, check_split, label_names, load_from_folder, load_sst2, read_table

GOOD = pd.DataFrame({
    "sentence": ["a gorgeous , witty film", "it 's a \"gem\" , said no one ", "dull and 'boring'"],
    "label": [1, 0, 0],
    "idx": [10, 11, 12],
})


def write(folder, split, df, fmt="tsv"):
    """Write one split file the way a user would (TSV: tab-separated, no quoting)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{split}.{fmt}"
    if fmt == "tsv":
        lines = ["\t".join(df.columns)] + ["\t".join(str(v) for v in row) for row in df.itertuples(index=False)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "csv":
        df.to_csv(path, index=False)
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        raise AssertionError(fmt)
    return path


def good_folder(folder, fmt="tsv"):
    write(folder, "train", GOOD, fmt)
    write(folder, "validation", GOOD.iloc[:2], fmt)
    return folder


def one_row_changed(column, value, row=1):
    df = GOOD.copy()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    return df


# ---------------------------------------------------------------------------------------
# The shipped sample


def _file_rows(name):
    with open(SAMPLE_DIR / name, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    return header, rows


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
    label = sample["train"].features["label"]
    assert isinstance(label, datasets.ClassLabel)
    assert label.names == ["negative", "positive"]
    assert label_names(sample) == ["negative", "positive"]
    assert label_names(sample["validation"]) == ["negative", "positive"]


def test_sample_content_is_the_file_verbatim(sample):
    _, rows = _file_rows("validation.tsv")
    assert sample["validation"]["sentence"] == [r[0] for r in rows]
    assert sample["validation"]["label"] == [int(r[1]) for r in rows]
    assert sample["validation"]["idx"] == [int(r[2]) for r in rows]
    assert set(sample["train"]["label"]) == {0, 1}


def test_read_table_keeps_columns():
    assert read_table(SAMPLE_DIR / "validation.tsv").columns.tolist() == ["sentence", "label", "idx"]


def test_read_table_rejects_other_formats(tmp_path):
    path = tmp_path / "train.json"
    path.write_text("{}")
    with pytest.raises(ValueError, match=r"Cannot read train\.json: use a \.tsv, \.csv or \.parquet file"):
        read_table(path)


# ---------------------------------------------------------------------------------------
# Local folders: TSV, CSV, Parquet, save_to_disk


@pytest.mark.parametrize("fmt", ["tsv", "csv", "parquet"])
def test_folder_formats_load_verbatim(tmp_path, fmt):
    raw = load_sst2(good_folder(tmp_path / "sst2", fmt))
    assert set(raw) == {"train", "validation"}
    assert raw["train"].features == data.features()
    assert raw["train"]["sentence"] == GOOD["sentence"].tolist()  # quotes and trailing blank kept
    assert raw["train"]["label"] == GOOD["label"].tolist()
    assert raw["train"]["idx"] == GOOD["idx"].tolist()
    assert raw["validation"].num_rows == 2


def test_tsv_quotes_are_not_interpreted(tmp_path):
    folder = tmp_path / "sst2"
    df = pd.DataFrame({"sentence": ['"the best" movie', 'a " lone quote', "it 's ''fine''"], "label": [1, 0, 1]})
    write(folder, "train", df)
    write(folder, "validation", df)
    raw = load_sst2(str(folder))
    assert raw["validation"]["sentence"] == df["sentence"].tolist()


def test_compressed_csv(tmp_path):
    folder = tmp_path / "sst2"
    folder.mkdir()
    GOOD.to_csv(folder / "train.csv.gz", index=False)
    GOOD.to_csv(folder / "validation.csv.gz", index=False)
    assert load_from_folder(folder)["train"]["sentence"] == GOOD["sentence"].tolist()


def test_extra_columns_dropped_and_idx_made_when_missing(tmp_path):
    folder = tmp_path / "sst2"
    df = GOOD.drop(columns="idx").assign(source=["x", "y", "z"])
    write(folder, "train", df, "csv")
    write(folder, "validation", df, "csv")
    raw = load_from_folder(folder)
    assert raw["train"].column_names == ["sentence", "label", "idx"]
    assert raw["train"]["idx"] == list(range(len(df)))


def test_save_to_disk_folder_round_trips(tmp_path, sample):
    folder = tmp_path / "saved"
    sample.save_to_disk(str(folder))
    raw = load_sst2(str(folder))
    for split in ("train", "validation"):
        assert raw[split].features == data.features()
        assert raw[split]["sentence"] == sample[split]["sentence"]
        assert raw[split]["label"] == sample[split]["label"]
        assert raw[split]["idx"] == sample[split]["idx"]


def test_save_to_disk_folder_without_validation(tmp_path, sample):
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": sample["train"]}).save_to_disk(str(folder))
    with pytest.raises(FileNotFoundError, match=r"has no validation split .*Put train\.tsv and validation\.tsv there"):
        load_sst2(str(folder))


def test_test_split_may_hide_labels_with_minus_one(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    write(folder, "test", GOOD.assign(label=-1))
    raw = load_sst2(str(folder))
    assert set(raw) == {"train", "validation", "test"}
    assert raw["test"]["label"] == [-1, -1, -1]
    assert raw["test"].features == data.features()


# ---------------------------------------------------------------------------------------
# Wrong folders and files


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Data folder 'nope' not found\. Check COURSE_DATA.*train\.tsv and validation\.tsv") as err:
        load_sst2(tmp_path / "nope")
    assert str(tmp_path) not in str(err.value)


@pytest.mark.parametrize("present, missing", [(["train"], "validation"), (["validation"], "train"), ([], "train or validation")])
def test_folder_missing_a_split(tmp_path, present, missing):
    folder = tmp_path / "sst2"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    for split in present:
        write(folder, split, GOOD)
    with pytest.raises(FileNotFoundError, match=rf"has no {missing} split \(it holds .*notes\.txt.*\)\. Put train\.tsv and validation\.tsv there"):
        load_sst2(folder)


def test_several_files_for_one_split(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    write(folder, "train", GOOD, "csv")
    with pytest.raises(ValueError, match=r"several files for the train split \(\['train\.tsv', 'train\.csv'\]\); keep one"):
        load_sst2(folder)


@pytest.mark.parametrize("text_column", ["text", "review", "Sentence"])
def test_misnamed_text_column_gets_rename_hint(tmp_path, text_column):
    folder = tmp_path / "sst2"
    write(folder, "train", GOOD.rename(columns={"sentence": text_column}))
    write(folder, "validation", GOOD)
    with pytest.raises(ValueError, match=re.escape(f"df.rename(columns={{'{text_column}': 'sentence'}})")) as err:
        load_sst2(folder)
    assert "The train split" in str(err.value) and "no column 'sentence'" in str(err.value)


def test_missing_label_column(tmp_path):
    folder = tmp_path / "sst2"
    write(folder, "train", GOOD)
    write(folder, "validation", GOOD.drop(columns="label"))
    with pytest.raises(ValueError, match=r"The validation split .* no column 'label' .*'label' column \(0 = negative, 1 = positive\)") as err:
        load_sst2(folder)
    assert "Rename" not in str(err.value)  # no rename hint when the text column is fine


def test_header_only_file(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    (folder / "validation.tsv").write_text("sentence\tlabel\n")
    with pytest.raises(ValueError, match=r"The validation split .* has no rows\. Give a file with at least one sentence"):
        load_sst2(folder)


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_empty_and_blank_sentences(tmp_path, fmt):
    folder = tmp_path / "sst2"
    df = GOOD.copy()
    df["sentence"] = ["fine", "", "   "]
    write(folder, "train", df, fmt)
    write(folder, "validation", GOOD, fmt)
    with pytest.raises(ValueError, match=r"The train split .* has 2 empty or missing sentence\(s\), at rows \[1, 2\]\. Remove those rows or fill in their text"):
        load_sst2(folder)


def test_missing_sentence_in_parquet(tmp_path):
    folder = tmp_path / "sst2"
    write(folder, "train", GOOD, "parquet")
    write(folder, "validation", one_row_changed("sentence", None, row=0), "parquet")
    with pytest.raises(ValueError, match=r"The validation split .* 1 empty or missing sentence\(s\), at rows \[0\]"):
        load_sst2(folder)


@pytest.mark.parametrize("value, shown", [(2, "2"), ("x", "x"), (0.5, "0.5")])
def test_labels_out_of_range(tmp_path, value, shown):
    folder = tmp_path / "sst2"
    write(folder, "train", one_row_changed("label", value), "csv")
    write(folder, "validation", GOOD, "csv")
    with pytest.raises(ValueError, match=rf"The train split .* 1 label\(s\) out of range \({re.escape(shown)}\) at rows \[1\]\. "
                                         r"Labels must be 0 \(negative\) or 1 \(positive\)"):
        load_sst2(folder)


@pytest.mark.parametrize("split", ["train", "validation"])
def test_minus_one_only_in_test_split(tmp_path, split):
    folder = good_folder(tmp_path / "sst2")
    write(folder, split, one_row_changed("label", -1, row=2))
    with pytest.raises(ValueError, match=rf"The {split} split .* out of range \(-1\) .*only a test split may use -1"):
        load_sst2(folder)


def test_test_split_labels_still_checked(tmp_path):
    folder = good_folder(tmp_path / "sst2")
    write(folder, "test", one_row_changed("label", 2))
    with pytest.raises(ValueError, match=r"The test split .* out of range \(2\) .*or -1 \(hidden, test split only\)"):
        load_sst2(folder)


def test_check_split_returns_clean_frame():
    df = GOOD.assign(label=["1", "0", "0"], extra=1).set_index(pd.Index([7, 8, 9]))
    out = check_split(df, "train", "test data")
    assert out.columns.tolist() == ["sentence", "label", "idx"]
    assert out["label"].tolist() == [1, 0, 0]
    assert out.index.tolist() == [0, 1, 2]


def test_label_names_needs_a_classlabel():
    ds = datasets.Dataset.from_dict({"sentence": ["a"], "label": [1]})
    with pytest.raises(ValueError, match=r"'label' column is not a ClassLabel.*load_sst2\(\)"):
        label_names(ds)


def test_tsv_reader_ignores_quote_characters(tmp_path):
    # The reason for QUOTE_NONE: with default quoting, this line would swallow the next one.
    path = tmp_path / "train.tsv"
    path.write_text('sentence\tlabel\n"unclosed quote starts here\t1\nnext line\t0\n')
    df = read_table(path)
    assert df["sentence"].tolist() == ['"unclosed quote starts here', "next line"]
