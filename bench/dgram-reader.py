# A reader for the bench's syslog and journal rows: binds a Unix datagram socket at PATH, prints
# "ready", reads as fast as it can, and on SIGTERM prints how many datagrams it received.
# usage: python3 dgram-reader.py PATH
import os, signal, socket, sys

path = sys.argv[1]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
sock.bind(path)
sock.settimeout(0.05)
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
os.write(1, b"ready\n")
count = 0
recv = sock.recv
while True:
    try:
        recv(65536)
        count += 1
    except (socket.timeout, InterruptedError):
        if stop:
            break
os.write(1, f"{count}\n".encode())
