"""How the course's tools and browser tests start headless Chromium: Debian's package, with flags for a machine
without a display, a sandbox or outside network access (Playwright's own browser download is not needed)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
