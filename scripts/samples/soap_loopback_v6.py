#!/usr/bin/env python3
"""Makes captures/soap-loopback-v6.pcapng: real HTTP SOAP traffic over IPv6 loopback ([::1],
port 18443 — not an HTTP port), captured by tshark (dumpcap). The server is python's
http.server with a small announced MSS (536), so messages are cut into many real segments;
the clients are independent of it: curl (a persistent connection with several POSTs via
--next, one with `Expect: 100-continue`) and a raw socket that pipelines two requests.

What is on the wire, in order:
  connection 1 (curl, keep-alive):
    1. SOAP 1.2 + WS-Addressing 1.0, WS-SC Feb2005 RST/SCT  -> RSTR/SCT, chunked with trailers
    2. SOAP 1.1 + WS-Addressing 2004/08 and SOAPAction, an application call with a ~20 KB
       body, sent with Expect: 100-continue               -> deflate-encoded response
    3. SOAP 1.2, the action only in the media type        -> SOAP 1.2 fault (HTTP 500)
  connection 2 (raw socket): two pipelined requests, WS-Trust 1.3 RST/SCT/Cancel and an
    application call                                     -> RSTR/SCT/Cancel (gzip + chunked)
                                                            and a plain response
  connection 3 (curl): GET of a non-SOAP HTML page.

Run as root (tshark on lo):  python3 scripts/samples/soap_loopback_v6.py captures/soap-loopback-v6.pcapng
"""
import gzip, http.server, os, socket, subprocess, sys, tempfile, threading, time, zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else "soap-loopback-v6.pcapng"
PORT = 18443
URL = f"http://[::1]:{PORT}"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
WSA10 = "http://www.w3.org/2005/08/addressing"
WSA04 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
FEB = "http://schemas.xmlsoap.org/ws/2005/02/trust"
V13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
SC13 = "http://docs.oasis-open.org/ws-sx/ws-secureconversation/200512"
SCFEB = "http://schemas.xmlsoap.org/ws/2005/02/sc"
APP = "http://tempuri.org/IInventory"


def env12(wsa, headers, body):
    return (f'<s:Envelope xmlns:s="{S12}" xmlns:a="{wsa}"><s:Header>{headers}</s:Header>'
            f'<s:Body>{body}</s:Body></s:Envelope>')


def rst_sct():
    return env12(WSA10,
                 f'<a:Action s:mustUnderstand="1">{FEB}/RST/SCT</a:Action>'
                 f'<a:MessageID>urn:uuid:6a1f0000-0000-4000-8000-000000000001</a:MessageID>'
                 f'<a:ReplyTo><a:Address>{WSA10}/anonymous</a:Address></a:ReplyTo>'
                 f'<a:To s:mustUnderstand="1">{URL}/sc</a:To>',
                 f'<t:RequestSecurityToken xmlns:t="{FEB}"><t:TokenType>{SCFEB}/sct</t:TokenType>'
                 f'<t:RequestType>{FEB}/Issue</t:RequestType><t:Entropy><t:BinarySecret>'
                 f'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</t:BinarySecret></t:Entropy>'
                 f'<t:KeySize>256</t:KeySize></t:RequestSecurityToken>')


def rstr_sct(relates):
    return env12(WSA10,
                 f'<a:Action s:mustUnderstand="1">{FEB}/RSTR/SCT</a:Action>'
                 f'<a:RelatesTo>{relates}</a:RelatesTo>',
                 f'<t:RequestSecurityTokenResponse xmlns:t="{FEB}"><t:TokenType>{SCFEB}/sct</t:TokenType>'
                 f'<t:RequestedSecurityToken><c:SecurityContextToken xmlns:c="{SCFEB}" '
                 f'xmlns:u="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd" '
                 f'u:Id="uuid-sct-1"><c:Identifier>urn:uuid:5c7e0000-0000-4000-8000-0000000000aa</c:Identifier>'
                 f'</c:SecurityContextToken></t:RequestedSecurityToken></t:RequestSecurityTokenResponse>')


def app11(n_items):
    items = "".join(f"<Item><Sku>SKU-{i:05d}</Sku><Qty>{i % 7}</Qty></Item>" for i in range(n_items))
    return (f'<soap:Envelope xmlns:soap="{S11}" xmlns:wsa="{WSA04}"><soap:Header>'
            f'<wsa:Action>{APP}/Update</wsa:Action>'
            f'<wsa:MessageID>uuid:7b2e0000-0000-4000-8000-000000000002</wsa:MessageID>'
            f'<wsa:ReplyTo><wsa:Address>{WSA04}/role/anonymous</wsa:Address></wsa:ReplyTo>'
            f'<wsa:To>{URL}/inventory</wsa:To></soap:Header>'
            f'<soap:Body><Update xmlns="http://tempuri.org/">{items}</Update></soap:Body></soap:Envelope>')


def app11_response(relates):
    return (f'<soap:Envelope xmlns:soap="{S11}" xmlns:wsa="{WSA04}"><soap:Header>'
            f'<wsa:Action>{APP}/UpdateResponse</wsa:Action><wsa:RelatesTo>{relates}</wsa:RelatesTo>'
            f'</soap:Header><soap:Body><UpdateResponse xmlns="http://tempuri.org/"><UpdateResult>true'
            f'</UpdateResult></UpdateResponse></soap:Body></soap:Envelope>')


def query12():
    return (f'<s:Envelope xmlns:s="{S12}"><s:Body><Query xmlns="http://tempuri.org/">'
            f'<Sku>SKU-99999</Sku></Query></s:Body></s:Envelope>')


def fault12():
    return (f'<s:Envelope xmlns:s="{S12}"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value>'
            f'</s:Code><s:Reason><s:Text xml:lang="en-US">Unknown SKU</s:Text></s:Reason>'
            f'</s:Fault></s:Body></s:Envelope>')


def cancel13():
    return env12(WSA10,
                 f'<a:Action s:mustUnderstand="1">{V13}/RST/SCT/Cancel</a:Action>'
                 f'<a:MessageID>urn:uuid:8c3d0000-0000-4000-8000-000000000003</a:MessageID>'
                 f'<a:To s:mustUnderstand="1">{URL}/sc</a:To>',
                 f'<t:RequestSecurityToken xmlns:t="{V13}"><t:RequestType>{V13}/Cancel</t:RequestType>'
                 f'<t:CancelTarget><c:SecurityContextToken xmlns:c="{SC13}"><c:Identifier>'
                 f'urn:uuid:5c7e0000-0000-4000-8000-0000000000aa</c:Identifier></c:SecurityContextToken>'
                 f'</t:CancelTarget></t:RequestSecurityToken>')


def cancel13_response(relates):
    return env12(WSA10,
                 f'<a:Action s:mustUnderstand="1">{V13}/RSTR/SCT/Cancel</a:Action>'
                 f'<a:RelatesTo>{relates}</a:RelatesTo>',
                 f'<t:RequestSecurityTokenResponse xmlns:t="{V13}"><t:RequestedTokenCancelled/>'
                 f'</t:RequestSecurityTokenResponse>')


def ping12():
    return env12(WSA10,
                 f'<a:Action s:mustUnderstand="1">{APP}/Ping</a:Action>'
                 f'<a:MessageID>urn:uuid:9d4c0000-0000-4000-8000-000000000004</a:MessageID>',
                 '<Ping xmlns="http://tempuri.org/"/>')


def ping12_response():
    return env12(WSA10,
                 f'<a:Action s:mustUnderstand="1">{APP}/PingResponse</a:Action>'
                 f'<a:RelatesTo>urn:uuid:9d4c0000-0000-4000-8000-000000000004</a:RelatesTo>',
                 '<PingResponse xmlns="http://tempuri.org/"/>')


def relates_of(text):
    for tag in ("a:MessageID>", "wsa:MessageID>"):
        if tag in text:
            return text.split(tag)[1].split("<")[0]
    return ""


class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6

    def server_bind(self):
        # A small MSS announced in our SYN-ACK: both sides then send 536-byte segments.
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        super().server_bind()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_body(self, status, ctype, body, encoding=None, chunked=False, trailers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            if trailers:
                self.send_header("Trailer", ", ".join(k for k, _ in trailers))
            self.end_headers()
            for i in range(0, len(body), 300):
                part = body[i:i + 300]
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            self.wfile.write(b"0\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in (trailers or []))
                             + b"\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self):
        self.send_body(200, "text/html; charset=utf-8", b"<html><body>inventory service</body></html>")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(n).decode()
        ct12 = "application/soap+xml; charset=utf-8"
        if "/RST/SCT/Cancel" in data:
            self.send_body(200, ct12, gzip.compress(cancel13_response(relates_of(data)).encode(), mtime=0),
                           encoding="gzip", chunked=True)
        elif "/RST/SCT" in data:
            self.send_body(200, ct12, rstr_sct(relates_of(data)).encode(), chunked=True,
                           trailers=[("X-Issued", "1"), ("X-Server-Time", "0")])
        elif "/Update" in self.headers.get("SOAPAction", ""):
            self.send_body(200, "text/xml; charset=utf-8", zlib.compress(app11_response(relates_of(data)).encode()),
                           encoding="deflate")
        elif "/Ping" in data:
            self.send_body(200, ct12, ping12_response().encode())
        else:
            self.send_body(500, ct12, fault12().encode())


def curl(*args):
    subprocess.run(["curl", "-sS", "-6", "-o", "/dev/null", *args], check=True)


def main():
    srv = Server(("::1", PORT), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", f"tcp port {PORT}", "-w", OUT],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    with tempfile.TemporaryDirectory() as d:
        files = {}
        for name, text in [("rst", rst_sct()), ("app", app11(400)), ("query", query12())]:
            files[name] = os.path.join(d, name + ".xml")
            with open(files[name], "w") as f:
                f.write(text)
        # One curl process, three POSTs on one persistent connection.
        curl("-H", "Content-Type: application/soap+xml; charset=utf-8", "--data-binary", "@" + files["rst"],
             f"{URL}/sc",
             "--next", "-sS", "-6", "-o", "/dev/null",
             "-H", "Content-Type: text/xml; charset=utf-8", "-H", f'SOAPAction: "{APP}/Update"',
             "-H", "Expect: 100-continue", "--data-binary", "@" + files["app"], f"{URL}/inventory",
             "--next", "-sS", "-6", "-o", "/dev/null",
             "-H", f'Content-Type: application/soap+xml; charset=utf-8; action="http://tempuri.org/IInventory/Query"',
             "--data-binary", "@" + files["query"], f"{URL}/inventory")
    # Two pipelined requests in one write.
    s = socket.create_connection(("::1", PORT))
    reqs = b""
    for path, body in [("/sc", cancel13()), ("/inventory", ping12())]:
        b = body.encode()
        reqs += (f"POST {path} HTTP/1.1\r\nHost: [::1]:{PORT}\r\n"
                 f"Content-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {len(b)}\r\n\r\n").encode() + b
    s.sendall(reqs)
    s.settimeout(1.0)
    got = b""
    try:
        while got.count(b"HTTP/1.1 200") < 2 or not got.endswith(b"</s:Envelope>"):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    curl(f"{URL}/")
    time.sleep(2.0)
    cap.terminate()
    cap.wait()
    srv.shutdown()


main()
