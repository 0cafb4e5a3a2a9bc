"""Test-wide set-up, the one place for it: offline, the smoke profile, temporary caches.

pytest imports this file before any test module or notebook kernel, and before anything imports
datasets or huggingface_hub, which read their cache variables once, on import. So setting the
environment here is enough for the unit tests and for the notebooks' kernels, which inherit it:
user overrides (COURSE_CHECKPOINT, ...) are removed, nothing may reach the Hub, and every cache
(the course's, Hugging Face's, datasets') lives in one temporary folder removed at the end.
"""

import os
import shutil
import tempfile

for name in ("COURSE_PROFILE", "COURSE_CHECKPOINT", "COURSE_DATA", "COURSE_TRAIN_SAMPLES", "COURSE_EPOCHS",
             "COURSE_OUTPUT_DIR", "COURSE_START_DIR"):
    os.environ.pop(name, None)
#: The test session's caches (tests/test_files.py checks that every library's cache is in it).
CACHE_ROOT = tempfile.mkdtemp(prefix="course-tests-")
os.environ.update({
    "COURSE_PROFILE": "smoke",
    "COURSE_CACHE": os.path.join(CACHE_ROOT, "course"),
    "HF_HOME": os.path.join(CACHE_ROOT, "huggingface"),
    "HF_DATASETS_CACHE": os.path.join(CACHE_ROOT, "huggingface", "datasets"),
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "agg",
})


def pytest_runtest_setup(item):
    """A kernel inherits the environment of its notebook's first cell. The capstone imports nothing from
    course_utils: it reads COURSE_CHECKPOINT and COURSE_DATA, set to the tiny model and the sample shipped
    with the course for the notebooks only (the unit tests see the plain smoke profile)."""
    if item.path.suffix == ".ipynb":
        from course_utils.data import SAMPLE_DIR
        from course_utils.models import tiny_checkpoint_path

        os.environ["COURSE_CHECKPOINT"] = str(tiny_checkpoint_path())
        os.environ["COURSE_DATA"] = str(SAMPLE_DIR)
    else:
        os.environ.pop("COURSE_CHECKPOINT", None)
        os.environ.pop("COURSE_DATA", None)


def pytest_unconfigure(config):
    shutil.rmtree(CACHE_ROOT, ignore_errors=True)
