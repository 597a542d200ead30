#!/usr/bin/env bash
# Make sure Graphviz's `dot` exists: `lakemesh lineage --format svg|png` and the render tests call it.
# (`--format dot` and `--format mermaid` are text and need nothing.)
set -euo pipefail
if command -v dot >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Graphviz's dot is missing; install it with: sudo apt-get install graphviz" >&2
  exit 1
fi
echo "installing Graphviz from Debian's packages..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends graphviz >/dev/null
