"""Test-wide set-up: every test and notebook runs in the offline smoke profile.

The notebooks' kernels inherit this process's environment, so setting it here is enough.
User overrides (COURSE_CHECKPOINT, ...) are removed so a test run never depends on them.
"""

import os

for name in ("COURSE_CHECKPOINT", "COURSE_DATA", "COURSE_TRAIN_SAMPLES", "COURSE_EPOCHS", "COURSE_OUTPUT_DIR"):
    os.environ.pop(name, None)
os.environ["COURSE_PROFILE"] = "smoke"
os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in the tests may reach for the Hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
