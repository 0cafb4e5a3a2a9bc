"""Helpers for the course *Transfer learning and fine-tuning with transformers*.

What the notebooks need but is not their lesson; every lesson's real work is written with the
libraries' own API in the notebooks, and the capstone (notebook 10) needs none of this package.

==============  =========================================================================
``settings``    profiles (default / cpu / smoke) and overrides: what a notebook runs
``sources``     paths, Hub ids or folders, the course cache, content fingerprints of files
``notebook``    a notebook's set-up: quiet libraries, device, versions, Colab's Drive, run card
``hub``         reaching the Hugging Face Hub, or failing fast with the offline options
``data``        GLUE SST-2 from the Hub, a local folder, or the sample shipped here
``models``      checkpoints (Hub id or checked local folder) and the tiny offline model
``blocks``      which block (embeddings, layer N, head) each weight belongs to; parameters per block
``freezing``    transfer learning vs fine-tuning: which weights may change
``metrics``     accuracy and F1 as ``evaluate`` modules that load offline; ``compute_metrics``
``recipe``      the fine-tuning recipe, written once: batch order, ``TrainingArguments``, ``Trainer``
``runs``        notebook 5's saved run, reused by notebooks 6-8 only when provably the same
``drift``       how far each weight moved; what each layer outputs
``plots``       the course's figure style, learning curves, drift plots
``strategies``  six ways to use a pretrained encoder and two floors (notebooks 8 and 9)
``grid``        the protocol that measures them at every data size (``benchmarks/strategies.py``)
``stats``       the one rule for comparing two configurations: seeds, paired difference, interval
``results``     the measured results shipped with the course, and reading a grid
``files``       writing files atomically and reading them back with clear errors
``offline``     copying a checkpoint and SST-2 to local folders for an offline classroom
==============  =========================================================================

Import the module you need, e.g. ``from course_utils import settings``. Importing the package
changes nothing in other libraries; ``notebook.quiet_libraries()`` does, when a notebook asks.
"""

__version__ = "3.0.0"
