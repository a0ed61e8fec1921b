"""SMTP sink for bench/newsletter.sh: accepts mail on 127.0.0.1:PORT, and
keeps "COUNT FIRST LAST BYTES" (messages, times of the first and last,
bytes in all) up to date in COUNTFILE.
Usage: nl_sink.py PORT COUNTFILE"""
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self):
        self.n = 0
        self.first = None
        self.last = None
        self.bytes = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            now = time.time()
            self.first = self.first or now
            self.last = now
            self.n += len(envelope.rcpt_tos)
            self.bytes += len(envelope.content)
        return "250 OK"


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    c = Counter()
    ctl = Controller(c, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        while True:
            time.sleep(0.2)
            with c.lock:
                line = f"{c.n} {c.first or 0} {c.last or 0} {c.bytes}\n"
            with open(path, "w") as f:
                f.write(line)
    except KeyboardInterrupt:
        pass
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
