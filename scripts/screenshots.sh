#!/usr/bin/env bash
# Regenerates the console's screenshots in docs/console/: the browser tests
# (console/browser) run against a real ledgerd and, with CONSOLE_SCREENSHOTS
# set, save each page they visit. Needs chromium (scripts/install-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null 2>&1 || ./scripts/install-tools.sh
CONSOLE_SCREENSHOTS=1 go test -count=1 -run 'TestConsole$' ./console/browser/
ls -1 docs/console/*.png
