"""The web page's static files, served by the service itself (no CDN: the page must draw with no
network): the vendored Vega builds (pinned here, BSD-3-Clause) and the page's own script and style.

``python -m services.observatory.entrypoints.assets`` (``make web-assets``) downloads the pinned
versions again from npm (``npm pack`` into a temporary directory) and copies their browser builds
into ``static/``; the files are committed, so neither CI nor ``make run`` needs npm.

vega-embed (≥ 6.18) carries Vega's CSP-safe expression interpreter: the page embeds charts with
``{ast: true}``, so no ``eval``/``new Function`` runs and the page's CSP needs no ``'unsafe-eval'``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"

# npm package, pinned version, file in the package → file served under /static/observatory/
VENDORED: dict[str, tuple[str, str, str]] = {
    "vega.min.js": ("vega", "6.2.0", "build/vega.min.js"),
    "vega-lite.min.js": ("vega-lite", "6.4.0", "build/vega-lite.min.js"),
    "vega-embed.min.js": ("vega-embed", "7.0.2", "build/vega-embed.min.js"),
}
OWN = ("report-page.js", "report-page.css")
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
SERVED = {name: STATIC / name for name in (*VENDORED, *OWN)}
"""Every file ``/static/observatory/{name}`` may serve (nothing else: no path is built from input)."""


def download() -> None:
    """Fetch the pinned packages from npm and copy their browser builds into ``static/``."""
    if shutil.which("npm") is None:
        sys.exit("npm is needed to download the web assets (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (package, version, inside) in VENDORED.items():
            out = subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"], cwd=tmp, check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
            with tarfile.open(Path(tmp) / out) as archive:
                member = archive.extractfile(f"package/{inside}")
                if member is None:
                    sys.exit(f"{package}@{version} has no {inside}")
                (STATIC / name).write_bytes(member.read())
            print(f"{name:20} ← {package}@{version} {inside}")


if __name__ == "__main__":
    download()
