"""The reference for bench/newsletter.sh: Python's smtplib sending N
ready-made messages of the same size over one connection to the same sink,
as fast as it can (no database, no templates). Prints messages per second.
Usage: nl_ref.py PORT N SIZE"""
import smtplib
import sys
import time

port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
body = ("x" * 70 + "\r\n") * max(1, size // 72)
t0 = time.time()
with smtplib.SMTP("127.0.0.1", port) as s:
    for i in range(n):
        msg = (f"From: bench@example.org\r\nTo: r{i}@example.org\r\n"
               f"Subject: reference {i}\r\nMessage-ID: <ref.{i}@bench>\r\n"
               f"\r\n{body}")
        s.sendmail("bench@example.org", [f"r{i}@example.org"], msg)
print(f"{n / (time.time() - t0):.0f}")
