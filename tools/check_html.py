"""Check the HTML export of the notebooks (``make html``), the pages shown in class.

``make check-html`` exports the notebooks to ``build/html`` and runs::

    python tools/check_html.py build/html
    python tools/check_html.py build/html --notebooks notebooks/01_intro.ipynb   # some notebooks only

For every notebook (by default every ``notebooks/[0-9]*.ipynb``) it checks that:

1. its page ``build/html/<name>.html`` exists;
2. the page embeds at least one PNG image (``<img src="data:image/png;base64,...``) when the
   notebook has PNG outputs (its figures);
3. when Chromium is installed (``/usr/bin/chromium``, or ``chromium`` on the PATH), a headless
   Chromium can render the page: its screenshot, ``build/html/<name>.png``, is not blank (it has
   more than a few distinct colours). Without Chromium it says so and skips this step.

It prints one line per problem and exits with 1 if there is any.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent

#: An image embedded in the page as base64 PNG (nbconvert writes figures this way).
EMBEDDED_PNG = re.compile(r"""<img\b[^>]*\bsrc=["']data:image/png;base64,""")

#: A screenshot with this many distinct colours or fewer counts as blank (an empty page is one
#: colour; a page with text has hundreds because of anti-aliasing).
BLANK_MAX_COLOURS = 8

#: Headless Chromium: no sandbox (containers, CI), no network besides the page, a throw-away
#: profile, and a tall window so that the screenshot shows a good part of the notebook.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,4000",
]


def find_chromium() -> str | None:
    """The Chromium program to use, or None when there is none."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def count_png_outputs(notebook: Path) -> int:
    """How many outputs of the notebook are PNG images."""
    nb = nbformat.read(notebook, as_version=4)
    return sum(
        1
        for cell in nb.cells
        if cell.get("cell_type") == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    )


def check_page(page: Path, png_outputs: int) -> list[str]:
    """The static checks of one page: it exists, and shows PNG figures if its notebook has some."""
    if not page.is_file():
        return [f"{page}: missing (run `make html`)"]
    if png_outputs and not EMBEDDED_PNG.search(page.read_text(encoding="utf-8")):
        return [f"{page}: its notebook has {png_outputs} PNG output(s), but the page embeds no PNG image"]
    return []


def count_colours(png: Path, enough: int) -> int:
    """The number of distinct colours in an image, counting no further than ``enough + 1``."""
    try:
        from PIL import Image
    except ImportError:  # no Pillow: matplotlib reads PNG files itself
        import matplotlib.image
        import numpy as np

        pixels = matplotlib.image.imread(png)
        return len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0))

    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=enough)  # None when there are more
    return enough + 1 if colours is None else len(colours)


def screenshot(chromium: str, page: Path, png: Path, timeout: int = 120) -> list[str]:
    """Take a headless screenshot of ``page`` into ``png``; problems if that fails or it is blank."""
    png.unlink(missing_ok=True)
    profile = tempfile.mkdtemp(prefix="check_html_chromium_")  # a new profile for every run
    command = [
        chromium,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--screenshot={png.resolve()}",
        page.resolve().as_uri(),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [f"{page}: Chromium took more than {timeout} s to render it"]
    finally:
        shutil.rmtree(profile, ignore_errors=True)

    if not png.is_file():
        last_lines = "\n".join(result.stderr.strip().splitlines()[-5:])
        return [f"{page}: Chromium wrote no screenshot (exit code {result.returncode})\n{last_lines}"]
    colours = count_colours(png, BLANK_MAX_COLOURS)
    if colours <= BLANK_MAX_COLOURS:
        return [f"{page}: the screenshot {png} is blank ({colours} colour(s))"]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the HTML export of the notebooks (see the top of this file).")
    parser.add_argument("html_dir", nargs="?", type=Path, default=REPO_ROOT / "build" / "html", help="where `make html` wrote the pages")
    parser.add_argument("--notebooks", nargs="+", type=Path, help="the notebooks whose pages to check (default: notebooks/[0-9]*.ipynb)")
    parser.add_argument("--no-screenshots", action="store_true", help="only the static checks, even if Chromium is installed")
    parser.add_argument("--timeout", type=int, default=120, help="seconds Chromium may take per page (default: 120)")
    args = parser.parse_args(argv)

    notebooks = args.notebooks or sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if not notebooks:
        print("no notebooks to check")
        return 1

    chromium = None if args.no_screenshots else find_chromium()
    if chromium is None and not args.no_screenshots:
        print("Chromium not found (/usr/bin/chromium, or chromium on the PATH): static checks only, no screenshots")

    problems = []
    for notebook in notebooks:
        page = args.html_dir / f"{notebook.stem}.html"
        page_problems = check_page(page, count_png_outputs(notebook))
        if chromium and not page_problems:
            page_problems = screenshot(chromium, page, args.html_dir / f"{notebook.stem}.png", args.timeout)
        problems += page_problems
        print(f"{'ok    ' if not page_problems else 'FAILED'}  {page}")

    if problems:
        print()
        print("\n".join(problems))
        return 1
    print(f"{len(notebooks)} page(s) fine" + (f"; screenshots in {args.html_dir}" if chromium else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
