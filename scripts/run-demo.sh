#!/usr/bin/env bash
# Opens the wcfscope window on the bundled demo capture with its demo key (the binary finds
# captures/demo-calculator.pcapng and assets/demo-pki/service.pfx itself when given no file).
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./target/release/wcfscope "$@"
