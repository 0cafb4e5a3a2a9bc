"""Helpers for the course *Transfer learning and fine-tuning with transformers*.

One small module per idea the notebooks teach:

=============  ==========================================================================
``settings``   profiles (default / cpu / smoke), overrides, and the run card
``hub``        reaching the Hugging Face Hub, or failing fast with the offline options
``data``       GLUE SST-2 from the Hub, a local folder, or the sample shipped here
``models``     checkpoints (Hub, folder, or a tiny offline one) with label names
``summary``    model structure: blocks, parameter tables, torchinfo summary
``freezing``   transfer learning vs fine-tuning: which weights may change
``metrics``    accuracy / F1 as offline ``evaluate`` metrics, Trainer ``compute_metrics``
``training``   the fast fine-tuning recipe, the old notebook's settings, saved runs
``batching``   length-grouped batches in random order, and the Trainer that serves them
``drift``      how far each weight moved: snapshot, compare, plots
``plots``      learning curves and confusion matrix
``offline``    copying a checkpoint and SST-2 to local folders for an offline classroom
=============  ==========================================================================

Import the module you need, e.g. ``from course_utils import settings``.
"""

__version__ = "1.0.0"

import warnings as _warnings

# Without ipywidgets, tqdm warns once that notebooks get text progress bars instead of
# widgets. The course uses text bars on purpose (they survive in saved notebooks and in
# nbval runs), so that one notice is silenced; every other warning is shown.
_warnings.filterwarnings("ignore", message="IProgress not found")
