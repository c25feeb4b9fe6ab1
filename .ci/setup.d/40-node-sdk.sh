#!/usr/bin/env bash
# The Shlink dialect's client test (tests/dialects/test_shlink_sdk.py): the Shlink JS SDK
# from npm, installed with `npm ci` from tests/dialects/js/package-lock.json into
# .ci/node/shlink-sdk inside the checkout (ignored by git), so the test loads it from
# disk and needs no network. Idempotent: nothing is done while the installed lock file
# is the committed one.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v npm >/dev/null || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 nodejs npm
}
source=tests/dialects/js
target=.ci/node/shlink-sdk
sdk=$target/node_modules/@shlinkio/shlink-js-sdk
if ! cmp -s "$source/package-lock.json" "$target/package-lock.json" || ! [ -s "$sdk/dist/index.js" ]; then
    rm -rf "$target"
    mkdir -p "$target"
    cp "$source/package.json" "$source/package-lock.json" "$target/"
    npm ci --prefix "$target" --no-audit --no-fund --loglevel=error
fi
test -s "$sdk/dist/index.js"
echo "shlink-js-sdk $(node -p "require('./$sdk/package.json').version") in $target"
