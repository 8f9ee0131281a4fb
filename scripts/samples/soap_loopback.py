#!/usr/bin/env python3
"""Makes captures/clear-soap-loopback.pcapng: a clear-text SOAP conversation over real TCP
on 127.0.0.1, captured by tshark. Exercises persistent connections, pipelining-free
keep-alive, chunked + gzip responses, SOAP 1.1 with SOAPAction, SOAP 1.2 with the action
media-type parameter, a fault, 100-continue, and a non-SOAP request on the same port.

Run as root (tshark on lo):  python3 scripts/samples/soap_loopback.py captures/clear-soap-loopback.pcapng
"""
import gzip, http.client, http.server, socket, subprocess, sys, threading, time

OUT = sys.argv[1] if len(sys.argv) > 1 else "clear-soap-loopback.pcapng"
PORT = 18080

S12 = "http://www.w3.org/2003/05/soap-envelope"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
CALC = "http://Microsoft.ServiceModel.Samples"

def req12(op, a, b, mid):
    return (f'<s:Envelope xmlns:s="{S12}" xmlns:a="{WSA}"><s:Header>'
            f'<a:Action s:mustUnderstand="1">{CALC}/ICalculator/{op}</a:Action>'
            f'<a:MessageID>urn:uuid:{mid}</a:MessageID><a:ReplyTo><a:Address>{WSA}/anonymous</a:Address></a:ReplyTo>'
            f'<a:To s:mustUnderstand="1">http://127.0.0.1:{PORT}/calc</a:To></s:Header>'
            f'<s:Body><{op} xmlns="{CALC}"><n1>{a}</n1><n2>{b}</n2></{op}></s:Body></s:Envelope>')

def resp12(op, result, mid):
    return (f'<s:Envelope xmlns:s="{S12}" xmlns:a="{WSA}"><s:Header>'
            f'<a:Action s:mustUnderstand="1">{CALC}/ICalculator/{op}Response</a:Action>'
            f'<a:RelatesTo>urn:uuid:{mid}</a:RelatesTo></s:Header>'
            f'<s:Body><{op}Response xmlns="{CALC}"><{op}Result>{result}</{op}Result></{op}Response></s:Body></s:Envelope>')

def fault11(msg):
    return (f'<soap:Envelope xmlns:soap="{S11}"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode>'
            f'<faultstring>{msg}</faultstring></soap:Fault></soap:Body></soap:Envelope>')

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        body = b"<html><body>calculator service</body></html>"
        self.send_response(200); self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        data = self.rfile.read(n).decode()
        ct = self.headers.get("Content-Type", "")
        if "text/xml" in ct:
            body = fault11("Divide by zero").encode()
            self.send_response(500); self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body); return
        op = data.split("/ICalculator/")[1].split("<")[0]
        a = float(data.split("<n1>")[1].split("<")[0]); b = float(data.split("<n2>")[1].split("<")[0])
        mid = data.split("urn:uuid:")[1].split("<")[0]
        result = {"Add": a + b, "Subtract": a - b, "Multiply": a * b}.get(op, 0)
        body = resp12(op, result, mid).encode()
        self.send_response(200)
        self.send_header("Content-Type", f'application/soap+xml; charset=utf-8')
        if op == "Multiply":   # gzip + chunked
            z = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip"); self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(z), 50):
                part = z[i:i + 50]
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)

def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cap = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", f"tcp port {PORT}", "-w", OUT],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    c = http.client.HTTPConnection("127.0.0.1", PORT)
    for i, (op, a, b) in enumerate([("Add", 100, 15.99), ("Subtract", 145, 76.54), ("Multiply", 9, 81.25)]):
        body = req12(op, a, b, f"00000000-0000-0000-0000-00000000000{i}")
        c.request("POST", "/calc", body=body.encode(), headers={
            "Content-Type": f'application/soap+xml; charset=utf-8; action="{CALC}/ICalculator/{op}"'})
        c.getresponse().read()
    # SOAP 1.1 with SOAPAction and 100-continue, answered by a fault.
    s = socket.create_connection(("127.0.0.1", PORT))
    body = (f'<soap:Envelope xmlns:soap="{S11}"><soap:Body><Divide xmlns="{CALC}"><n1>1</n1><n2>0</n2></Divide>'
            f'</soap:Body></soap:Envelope>').encode()
    s.sendall(b"POST /calc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml; charset=utf-8\r\n"
              b'SOAPAction: "' + CALC.encode() + b'/ICalculator/Divide"\r\nExpect: 100-continue\r\n'
              b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    time.sleep(0.3)
    s.sendall(body)
    time.sleep(0.3)
    s.recv(65536)
    s.close()
    c.request("GET", "/"); c.getresponse().read()
    c.close()
    time.sleep(2.0)
    cap.terminate(); cap.wait()
    srv.shutdown()

main()
