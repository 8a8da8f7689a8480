#!/usr/bin/env python3
"""A tiny WebDAV-ish file server for pipe's remote-cache tests, with faults injected on request.

    python3 fault_server.py ROOT        # prints "PORT PID" (it listens on 127.0.0.1), then serves

Serves GET/HEAD/PUT (written to a temporary name, then renamed: atomic)/MOVE/MKCOL/DELETE under
ROOT. `PUT /_faults` with JSON {"status": 500, "count": 2} answers the next 2 requests with 500;
{"short": 1} sends half of the next GET body and hangs up; {"sleep": 2.0, "count": 1} delays the
next request. `GET /_stats` returns request counts per method.
"""
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

ROOT = sys.argv[1]
LOCK = threading.Lock()
FAULTS = {"status": 0, "count": 0, "short": 0, "sleep": 0.0, "sleep_count": 0}
STATS = {}


def take(kind):
    """Consumes one pending fault of `kind`; returns its parameter or None."""
    with LOCK:
        if kind == "status" and FAULTS["count"] > 0:
            FAULTS["count"] -= 1
            return FAULTS["status"]
        if kind == "short" and FAULTS["short"] > 0:
            FAULTS["short"] -= 1
            return True
        if kind == "sleep" and FAULTS["sleep_count"] > 0:
            FAULTS["sleep_count"] -= 1
            return FAULTS["sleep"]
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def local(self):
        path = urllib.parse.unquote(urllib.parse.urlparse(self.path).path)
        return os.path.join(ROOT, path.lstrip("/"))

    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def fault(self):
        """True when a fault answered the request."""
        with LOCK:
            STATS[self.command] = STATS.get(self.command, 0) + 1
        delay = take("sleep")
        if delay:
            time.sleep(delay)
        status = take("status")
        if status:
            self.body()
            self.reply(status, b"injected fault\n")
            return True
        return False

    def do_GET(self):
        if self.path == "/_stats":
            with LOCK:
                return self.reply(200, json.dumps(STATS).encode())
        if self.fault():
            return
        path = self.local()
        if not os.path.isfile(path):
            return self.reply(404, b"not found\n")
        with open(path, "rb") as f:
            data = f.read()
        if self.command == "GET" and take("short"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.reply(200, data)

    def do_HEAD(self):
        if self.fault():
            return
        path = self.local()
        if not os.path.isfile(path):
            return self.reply(404)
        self.send_response(200)
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.end_headers()

    def do_PUT(self):
        if self.path == "/_faults":
            spec = json.loads(self.body() or b"{}")
            with LOCK:
                if "status" in spec:
                    FAULTS["status"], FAULTS["count"] = spec["status"], spec.get("count", 1)
                if "short" in spec:
                    FAULTS["short"] = spec["short"]
                if "sleep" in spec:
                    FAULTS["sleep"], FAULTS["sleep_count"] = spec["sleep"], spec.get("count", 1)
            return self.reply(204)
        if self.fault():
            return
        data = self.body()
        path = self.local()
        if not os.path.isdir(os.path.dirname(path)):
            return self.reply(409, b"parent collection missing\n")
        temporary = path + ".part~%d" % threading.get_ident()
        with open(temporary, "wb") as f:
            f.write(data)
        os.rename(temporary, path)
        self.reply(201)

    def do_MOVE(self):
        if self.fault():
            return
        source = self.local()
        destination = urllib.parse.unquote(urllib.parse.urlparse(self.headers["Destination"]).path)
        target = os.path.join(ROOT, destination.lstrip("/"))
        if not os.path.isfile(source):
            return self.reply(404)
        if not os.path.isdir(os.path.dirname(target)):
            return self.reply(409)
        os.rename(source, target)
        self.reply(201)

    def do_MKCOL(self):
        if self.fault():
            return
        path = self.local()
        if os.path.isdir(path):
            return self.reply(405)
        try:
            os.mkdir(path)
        except FileNotFoundError:
            return self.reply(409)
        self.reply(201)

    def do_DELETE(self):
        if self.fault():
            return
        path = self.local()
        if os.path.isfile(path):
            os.unlink(path)
            return self.reply(204)
        self.reply(404)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], os.getpid(), flush=True)
server.serve_forever()
