"""Test-wide set-up: every test and notebook runs offline, in the smoke profile, in temporary caches.

The notebooks' kernels inherit this process's environment, so setting it here is enough.
User overrides (COURSE_CHECKPOINT, ...) are replaced, so a test run never depends on them, and
every cache (the course's, Hugging Face's) lives in a temporary folder removed at the end: a
test run writes nothing into the user's home.

The capstone notebook imports nothing from course_utils; it reads the checkpoint and the data
folder from COURSE_CHECKPOINT and COURSE_DATA, so they are set to the tiny model and the sample
shipped with the course, for the notebooks only (the unit tests see the plain smoke profile).
The other notebooks then use the same two, which are the smoke profile's own.
"""

import os
import shutil
import tempfile

for name in ("COURSE_PROFILE", "COURSE_CHECKPOINT", "COURSE_DATA", "COURSE_TRAIN_SAMPLES", "COURSE_EPOCHS",
             "COURSE_OUTPUT_DIR", "COURSE_START_DIR"):
    os.environ.pop(name, None)
_CACHE = tempfile.mkdtemp(prefix="course-tests-")
os.environ.update({
    "COURSE_PROFILE": "smoke",
    "COURSE_CACHE": os.path.join(_CACHE, "course"),
    "HF_HOME": os.path.join(_CACHE, "huggingface"),
    "HF_HUB_OFFLINE": "1",  # nothing in the tests may reach for the Hub
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "agg",
})
os.environ.pop("HF_DATASETS_CACHE", None)


def pytest_runtest_setup(item):
    """Kernels start at a notebook's first cell and inherit the environment of that moment."""
    if item.path.suffix == ".ipynb":
        from course_utils.data import SAMPLE_DIR
        from course_utils.models import tiny_checkpoint_path

        os.environ["COURSE_CHECKPOINT"] = str(tiny_checkpoint_path())
        os.environ["COURSE_DATA"] = str(SAMPLE_DIR)
    else:
        os.environ.pop("COURSE_CHECKPOINT", None)
        os.environ.pop("COURSE_DATA", None)


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)
