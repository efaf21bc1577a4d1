"""
The Python original (SimpleDaemon, /work/shared/seed/README.md) as the bench runs it: logging on
Python's `logging` (RotatingFileHandler 1 MiB x 2, optional StreamHandler and SysLogHandler, the
original's format), SIGINT/SIGTERM handlers, passive mode, and Timekeeper's
`RunTimeLoop` / `SleepAfterLoop` lines around each pass of `while True:`.

usage: python3 simple_daemon.py [--log-dir DIR] [--no-log-file] [--stream] [--syslog-socket PATH]
                                [--interval SEC] [--once]
BENCH_WORK steps as in bench-work.ts: none, mark, tick, props:N, unique:N (a burst writes
"burst <records/s> <VmHWM KiB> <records per CPU second>" to stderr; the exit writes "exit <cycles> <ms> <VmHWM KiB>").
"""
import argparse
import datetime
import logging
import logging.handlers
import os
import signal
import sys
import time

FORMAT = "%(asctime)s - APP:[%(name)s] - [%(levelno)s]%(levelname)s - MSG:> %(message)s"


def hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class SimpleDaemonExit(Exception):
    pass


class SimpleDaemon:
    def __init__(self, name_app="simple-daemon", log_lvl=10, log_path="/tmp/", log_name="simple_daemon.log",
                 log_format=FORMAT, stream=False, syslog=None, log_file=True,
                 max_size_byte_log=1048576, max_count_file_rotation=2, interrupt_mode=False):
        self.interrupted = False
        self.interrupt_mode = interrupt_mode
        self.log = logging.getLogger(name_app)
        self.log.setLevel(log_lvl)
        formatter = logging.Formatter(log_format)
        handlers = []
        if log_file:
            handlers.append(logging.handlers.RotatingFileHandler(
                os.path.join(log_path, log_name), maxBytes=max_size_byte_log, backupCount=max_count_file_rotation))
        if stream:
            handlers.append(logging.StreamHandler(sys.stdout))
        if syslog:
            handlers.append(logging.handlers.SysLogHandler(address=syslog))
        for handler in handlers:
            handler.setFormatter(formatter)
            self.log.addHandler(handler)

    def __enter__(self):
        self.log.info("PID: %s", os.getpid())
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handler)
            self.log.debug("Set signal handler: %s", int(signum))
        self.log.info("Mode: %s", "AGGRESSIVE" if self.interrupt_mode else "PASSIVE")
        return self

    def _handler(self, signum, frame):
        self.log.info("Received %s signal.", signum)
        if self.interrupt_mode:
            raise SimpleDaemonExit()
        self.interrupted = True
        self.log.info("interrupted == True")

    def __exit__(self, exc_type, exc, tb):
        self.log.info("Graceful Interrupt...")
        return exc_type is SimpleDaemonExit


class Timekeeper:
    def __init__(self, log, run_interval_sec=60):
        self.log = log
        self.run_interval_sec = run_interval_sec

    def __enter__(self):
        self.start = datetime.datetime.now()
        return self

    def __exit__(self, exc_type, exc, tb):
        took = datetime.datetime.now() - self.start
        self.log.info("RunTimeLoop: %s", took)
        sleep = max(0, int(self.run_interval_sec - took.total_seconds()))
        self.log.debug("SleepAfterLoop: %s sec", sleep)
        time.sleep(sleep)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log-dir", default="/tmp/")
    parser.add_argument("--no-log-file", action="store_true")
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--syslog-socket")
    parser.add_argument("--interval", type=float, default=60)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    kind, _, count_text = os.environ.get("BENCH_WORK", "none").partition(":")
    count = int(count_text or 0)
    cycles = 0
    first_at = 0.0
    daemon = SimpleDaemon(log_path=args.log_dir, log_name="simple-daemon.log", stream=args.stream,
                          syslog=args.syslog_socket, log_file=not args.no_log_file)
    with daemon:
        log = daemon.log
        while not daemon.interrupted:
            with Timekeeper(log, 0 if args.once else args.interval):
                cycles += 1
                if cycles == 1:
                    first_at = time.perf_counter()
                if kind == "mark" and cycles == 1:
                    os.write(1, b"first cycle\n")
                elif kind == "tick":
                    log.info("work cycle %d", cycles)
                elif kind in ("props", "unique") and cycles == 1:
                    start = time.perf_counter()
                    cpu = time.process_time()
                    if kind == "props":
                        for i in range(count):
                            log.info("record %d", i)
                    else:
                        for i in range(count):
                            log.info(f"record {i}")
                    rate = count / (time.perf_counter() - start)
                    cpu_rate = count / (time.process_time() - cpu)
                    os.write(2, f"burst {rate} {hwm_kib()} {cpu_rate}\n".encode())
            if args.once:
                break
    logging.shutdown()
    os.write(2, f"exit {cycles} {(time.perf_counter() - first_at) * 1000} {hwm_kib()}\n".encode())


if __name__ == "__main__":
    main()
