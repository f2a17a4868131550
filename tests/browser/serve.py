#!/usr/bin/env python3
"""The browser test's web server: Python's static file server (no range requests, as before),
plus what the page-loading tests need to see and to control.

  python3 serve.py PORT DIST LOG

- every request is appended to LOG as "GET /path?query" (flushed at once), so a test can tell
  which files the page fetched;
- GET /__throttle?ms=N sends the default backbone's weights (dinov2-small/model.safetensors) in
  1 MiB pieces with N ms between them (0: at full speed), so a test can look at the page while
  its weights are still on the way.
"""

import functools
import http.server
import sys
import time
import urllib.parse

THROTTLED = "/dinov2-small/model.safetensors"
state = {"ms": 0}


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_request(self, code="-", size="-"):
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path} {code}\n")
            f.flush()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__throttle":
            state["ms"] = int(urllib.parse.parse_qs(url.query).get("ms", ["0"])[0])
            body = f"throttle {state['ms']} ms\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def copyfile(self, source, outputfile):
        if not urllib.parse.urlsplit(self.path).path.endswith(THROTTLED) or state["ms"] <= 0:
            return super().copyfile(source, outputfile)
        while True:
            chunk = source.read(1 << 20)
            if not chunk:
                return
            outputfile.write(chunk)
            outputfile.flush()
            time.sleep(state["ms"] / 1000)


if __name__ == "__main__":
    port, dist, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    handler = functools.partial(Handler, directory=dist)
    http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
