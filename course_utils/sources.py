"""Paths and sources: where a checkpoint, a data set and the course's own files are.

Environment variables set to nothing or blanks count as unset. Relative folders are taken from
the folder you started from: ``COURSE_START_DIR`` when it is set (``make lab`` and ``make execute``
set it to the repository), else the current directory. A relative value that exists there is a
folder (``models/x``); one that does not and looks like ``owner/name`` is a Hub id.

Example:
    >>> resolve_source("distilbert-base-uncased", "checkpoint"), resolve_source("sample", "data")
    ('distilbert-base-uncased', 'sample')
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from contextlib import suppress
from pathlib import Path
from typing import Mapping

#: The special checkpoint name of the offline smoke profile (built by ``models.tiny_checkpoint_path``).
TINY_CHECKPOINT = "tiny-distilbert"
#: The values of ``COURSE_DATA`` that are not folders.
DATA_KEYWORDS = ("hub", "sample")
#: What a checkpoint and a data source may be, for the errors.
SOURCE_KINDS = {"checkpoint": "a Hub id (owner/name) or a folder written by save_pretrained()",
                "data": "'hub', 'sample' or a folder with train and validation files"}
# A Hub repository id: ``name`` or ``owner/name`` (letters, digits, ``.``, ``_``, ``-``).
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
#: How long after its last change a file's hash may be kept (nanoseconds): see :func:`fingerprint`.
SETTLED_NS = 2_000_000_000

def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The variable ``name`` with blanks stripped, or ``None`` when it is unset or empty.

    >>> env_value("COURSE_DATA", {"COURSE_DATA": "  "}) is None
    True
    """
    return (os.environ if env is None else env).get(name, "").strip() or None


def start_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder relative paths start from: ``COURSE_START_DIR`` when set, else the current directory."""
    given = env_value("COURSE_START_DIR", env)
    if given is None:
        return Path.cwd()
    folder = Path(given).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"COURSE_START_DIR={given!r} is not a folder (looked for {folder}). "
            f"Set it to the folder relative paths should start from (e.g. the repository), or unset it."
        )
    return folder


def resolve_path(value: str | os.PathLike, env: Mapping[str, str] | None = None) -> Path:
    """``value`` as an absolute path: ``~`` expanded, relative paths taken from :func:`start_dir`.

    >>> resolve_path("/data/sst2").as_posix()
    '/data/sst2'
    """
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = start_dir(env) / path
    return path.resolve()


def _written_as_path(text: str) -> bool:
    """``./x``, ``../x``, ``~/x``, ``/x``, ``C:\\x`` or ``a/b/c``: never a Hub id."""
    return (text.startswith((".", "~")) or Path(text).is_absolute() or "\\" in text
            or text.count("/") > 1)


def is_local_path(value: str | os.PathLike) -> bool:
    """True when ``value`` names a folder (written as a path, or existing in :func:`start_dir`), not a Hub id.

    >>> is_local_path("/home/me/models/x"), is_local_path("sentence-transformers/all-MiniLM-L6-v2")
    (True, False)
    """
    text = str(value).strip()
    if text in DATA_KEYWORDS or text == TINY_CHECKPOINT or not text:
        return False
    return _written_as_path(text) or resolve_path(text).exists()


def resolve_source(value: str | os.PathLike, kind: str, env: Mapping[str, str] | None = None,
                   source: str | None = None, default: str | None = None) -> str:
    """A checkpoint or data source (``kind``) as settings keep it: keywords and Hub ids as they are, a folder
    as its absolute path (it must exist). For errors, ``source`` says how the value was given
    (``"COURSE_DATA='sst2'"``) and ``default`` is the profile's value, the way back."""
    if kind not in SOURCE_KINDS:
        raise ValueError(f"kind must be 'checkpoint' or 'data', not {kind!r}.")
    text = str(value).strip()
    source = source or f"{kind}={text!r}"
    if not text:
        raise ValueError(f"{source} is empty. Give {SOURCE_KINDS[kind]}, or leave it unset.")
    if kind == "data" and text.lower() in DATA_KEYWORDS:
        return text.lower()
    if kind == "checkpoint" and text == TINY_CHECKPOINT:
        return text
    path = resolve_path(text, env)
    if path.is_dir():
        return str(path)
    way_back = f", or leave it unset to use the profile's {default!r}" if default else ""
    if path.exists():
        raise NotADirectoryError(f"The {kind} {path} ({source}) is a file, not a folder. "
                                 f"Give the folder that holds it{way_back}.")
    if kind == "checkpoint" and not _written_as_path(text) and HUB_ID.fullmatch(text):
        return text  # a Hub id: resolve_checkpoint checks that the Hub or the cache has it
    raise FileNotFoundError(f"The {kind} folder {path} does not exist ({source}; relative paths start from "
                            f"{start_dir(env)}, the folder you started from). Check the path: the {kind} is "
                            f"{SOURCE_KINDS[kind]}{way_back}.")


def display_name(value: str | os.PathLike) -> str:
    """Name a checkpoint or data source without the machine's path.

    >>> display_name("/home/me/models/all-MiniLM-L6-v2")
    'all-MiniLM-L6-v2 (local folder)'
    >>> display_name("distilbert-base-uncased")
    'distilbert-base-uncased'
    """
    if is_local_path(value):
        return f"{resolve_path(value).name} (local folder)"
    return str(value)


def cache_dir() -> Path:
    """Where the course keeps what it builds (the tiny checkpoint, file fingerprints): ``COURSE_CACHE``
    or ``~/.cache/course_utils``. The folder is created, or an error names the variable to change."""
    given = env_value("COURSE_CACHE")
    folder = Path(given).expanduser().resolve() if given else Path.home() / ".cache" / "course_utils"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
    except OSError as err:
        where = f"COURSE_CACHE={given!r}" if given else "the default cache folder"
        raise OSError(f"The course cannot write to {where} ({err}). Set COURSE_CACHE to a folder you can "
                      f"write to, e.g. COURSE_CACHE=/tmp/course_cache.") from None
    return folder


def _file_sha256(path: Path, cache: dict) -> str:
    """The SHA-256 of ``path``, from ``cache`` when its key (see :func:`fingerprint`) is the one recorded.
    A file changed less than :data:`SETTLED_NS` before is not cached: a change in the same tick of a
    coarse file clock would keep the old times."""
    started = time.time_ns()
    stat = path.stat()
    key = [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]  # ctime: no copy tool can set it
    known = cache.get(str(path))
    if isinstance(known, dict) and known.get("key") == key:
        return known["sha256"]
    with path.open("rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if stat.st_ctime_ns < started - SETTLED_NS:
        cache[str(path)] = {"key": key, "sha256": digest}
    return digest


def fingerprint(path: str | os.PathLike) -> str:
    """A content fingerprint of a file or folder (every file in it, by relative name): 16 hex digits.

    Each file's SHA-256 is cached under its inode, size, modification and status-change times, so a file
    replaced by other content gets a new fingerprint even when ``cp -p`` or ``rsync -a`` kept its mtime.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_text("one")
    >>> before = fingerprint(folder)
    >>> _ = (folder / "a.txt").write_text("two")
    >>> fingerprint(folder) != before
    True
    """
    from . import files

    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"Cannot fingerprint {path}: it does not exist. Check the path.")
    members = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    store = cache_dir() / "fingerprints.json"
    cache = {}
    with suppress(FileNotFoundError, ValueError):  # a missing or damaged cache only costs hashing again
        cache = files.read_json(store)
    cache = cache if isinstance(cache, dict) else {}
    total = hashlib.sha256()
    for member in members:
        name = member.relative_to(path).as_posix() if path.is_dir() else member.name
        total.update(f"{name}\0{member.stat().st_size}\0{_file_sha256(member, cache)}\n".encode())
    files.write_json(store, cache)
    return total.hexdigest()[:16]
