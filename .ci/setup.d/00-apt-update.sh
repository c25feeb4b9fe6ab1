#!/usr/bin/env bash
# Refresh Debian's package lists once, for the setup scripts after this one.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
