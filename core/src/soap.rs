//! SOAP envelopes: version, headers, body, WS-Addressing, message kind.
