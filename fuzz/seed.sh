#!/usr/bin/env bash
# Fills corpus/<target>/ with starting inputs from the repository's own captures, test data
# and conformance vectors (idempotent; the corpus itself is not committed).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/capture corpus/xml_message corpus/http_stream
cp ../captures/*.pcapng ../tests/data/*.pcap ../tests/data/*.pcapng corpus/capture/
find ../tests/vectors -name '*.xml' -size -64k -exec cp {} corpus/xml_message/ \;
# http_stream: byte 1 = where the client's bytes end (of 256), byte 2 = segment cut byte.
i=0
for xml in $(find ../tests/vectors -name '*.xml' -size -16k | head -20); do
  len=$(stat -c %s "$xml")
  {
    printf '\x80\x0a'
    printf 'POST /svc HTTP/1.1\r\nHost: h\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n' "$len"
    cat "$xml"
    printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n%x\r\n' "$len"
    cat "$xml"
    printf '\r\n0\r\n\r\n'
  } > "corpus/http_stream/seed-$i"
  i=$((i + 1))
done
echo "seeded: $(ls corpus/capture | wc -l) captures, $(ls corpus/xml_message | wc -l) messages, $i HTTP streams"
