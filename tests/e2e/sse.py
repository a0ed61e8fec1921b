"""A small Server-Sent Events client for the tests: http.client underneath
(chunked decoding), a reader thread, events parsed per the WHATWG spec."""
import http.client
import queue
import threading
import time


class SSE:
    def __init__(self, port, path="/live/events", last_event_id=None,
                 host="127.0.0.1", timeout=10):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", path, headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.events = queue.Queue()
        self.comments = 0
        self.closed = threading.Event()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()
        else:
            self.body = self.resp.read()

    def _read(self):
        buf = b""
        ev = {"data": []}
        try:
            while True:
                chunk = self.resp.read1(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    line = line.rstrip(b"\r").decode("utf-8")
                    if line == "":
                        if ev.get("data") or ev.get("event"):
                            ev["data"] = "\n".join(ev["data"])
                            ev["t"] = time.time()
                            self.events.put(ev)
                        ev = {"data": []}
                    elif line.startswith(":"):
                        self.comments += 1
                    else:
                        field, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if field == "data":
                            ev["data"].append(value)
                        elif field in ("id", "event", "retry"):
                            ev[field] = value
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass
        self.closed.set()

    def next(self, timeout=3, kinds=("post", "edit", "delete", "reload")):
        """The next event of one of kinds, or None after timeout."""
        end = time.time() + timeout
        while time.time() < end:
            try:
                ev = self.events.get(timeout=max(0.01, end - time.time()))
            except queue.Empty:
                return None
            if ev.get("event") in kinds:
                return ev
        return None

    def drain(self, wait=0.5):
        out = []
        while True:
            ev = self.next(timeout=wait)
            if ev is None:
                return out
            out.append(ev)

    def close(self):
        try:
            self.conn.sock.shutdown(2)
        except OSError:
            pass
        self.conn.close()
