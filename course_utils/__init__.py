"""Helpers for the course *Transfer learning and fine-tuning with transformers*.

What the notebooks need but is not their lesson: run settings, offline data paths, model
summaries, parameter drift, plots and metric wrappers. Every lesson's real work is written
with the libraries' own API in the notebooks; notebook 9 needs none of this package.

=============  ==========================================================================
``settings``   profiles (default / cpu / smoke), overrides, the run card, quiet outputs
``hub``        reaching the Hugging Face Hub, or failing fast with the offline options
``data``       GLUE SST-2 from the Hub, a local folder, or the sample shipped here
``models``     checkpoints (Hub id or checked local folder) and the tiny offline model
``summary``    model structure: blocks, parameter tables, torchinfo summary
``freezing``   transfer learning vs fine-tuning: which weights may change
``metrics``    accuracy and F1 as ``evaluate`` modules that load offline; ``compute_metrics``
``batching``   an order of length-grouped batches in random order (for sequential sampling)
``training``   notebook 5's recipe for notebooks 6-8, and saved runs that can be trusted
``drift``      how far each weight moved, and how much each layer's representations changed
``plots``      the course's figure style, learning curves, learning-rate schedule
``offline``    copying a checkpoint and SST-2 to local folders for an offline classroom
=============  ==========================================================================

Import the module you need, e.g. ``from course_utils import settings``. Importing the package
changes nothing in other libraries; ``settings.quiet_libraries()`` does, when a notebook asks.
"""

__version__ = "2.0.0"
