#!/usr/bin/env bash
# Opens wcfscope on the bundled demo capture. Until the GUI lands, prints its analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=captures/demo-calculator.pcapng
[ -f "$demo" ] || demo=$(ls captures/*.pcap* | head -n 1)
exec ./target/release/wcfscope analyze "$demo"
