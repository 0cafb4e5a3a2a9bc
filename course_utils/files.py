"""Files the course writes (package, ``tools/``, ``benchmarks/``): always whole, read back with errors naming them.

:func:`write_atomic` renames a temporary file over the target, so a reader sees the old file or the new one,
never half of one, whatever interrupts the writer.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "record.json"
    >>> _ = write_json(path, {"accuracy": 0.9})
    >>> read_json(path, "a results file")
    {'accuracy': 0.9}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable


def write_atomic(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then rename it over ``path`` in one step; if
    ``write`` fails or is interrupted, the temporary file goes and ``path`` keeps its old content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the file it replaces was readable by all
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=1, default=str) + "\n")


def read_json(path: str | os.PathLike, what: str = "this file") -> Any:
    """The JSON in ``path``; a missing or unreadable file raises an error naming ``what`` and the path."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist. Check the path, or write it first.") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{what} {path} is not readable JSON ({err}). It was cut short or edited by hand: "
                         f"restore it (git checkout -- {path.name}) or delete it and write it again.") from None


def json_roundtrip(data: Any) -> Any:
    """``data`` as it reads back from JSON (tuples become lists, paths strings): to compare with a record."""
    return json.loads(json.dumps(data, default=str))
