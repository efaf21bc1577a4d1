# Python's RotatingFileHandler with the original's format: the baseline for records/s.
# usage: python3 rotating-sink.py DIR COUNT  → prints records per second
import logging, logging.handlers, os, sys, time

directory, count = sys.argv[1], int(sys.argv[2])
handler = logging.handlers.RotatingFileHandler(os.path.join(directory, "py.log"), maxBytes=1048576, backupCount=2)
handler.setFormatter(logging.Formatter("%(asctime)s - APP:[%(name)s] - [%(levelno)s]%(levelname)s - MSG:> %(message)s"))
log = logging.getLogger("simple-daemon")
log.setLevel(10)
log.addHandler(handler)
start = time.perf_counter()
for i in range(count):
    log.info("record %d", i)
handler.close()
print(count / (time.perf_counter() - start))
