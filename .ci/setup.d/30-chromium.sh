#!/usr/bin/env bash
# The browser tests (tests/browser): Debian's Chromium and ChromeDriver, fonts for the
# screenshots, and axe-core (the accessibility checker) installed from npm into
# .ci/node inside the checkout, so the tests load it from disk and need no network.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/../.."

packages=(chromium chromium-driver fonts-dejavu-core fonts-liberation2)
command -v npm >/dev/null || packages+=(nodejs npm)  # the machine usually has them
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
chromium --version
chromedriver --version

# Pinned, so every run checks the pages against the same rules.
axe_version=4.14.1
axe=.ci/node/node_modules/axe-core
if [ "$(node -p "require('./$axe/package.json').version" 2>/dev/null || true)" != "$axe_version" ]; then
    npm install --prefix .ci/node --no-audit --no-fund --loglevel=error "axe-core@$axe_version"
fi
test -s "$axe/axe.min.js"
echo "axe-core $axe_version in $axe"
