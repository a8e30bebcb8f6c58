#!/usr/bin/env python3
"""Attacks on `speedup serve` from issue 9, each against a fresh server.

Usage: attack.py SPEEDUP_BINARY [ATTACK ...]   (default: all attacks)

Each attack starts `SPEEDUP_BINARY serve --host 127.0.0.1 --port 0 ...`,
attacks it over loopback only (bounded connection counts and durations),
prints one line of figures, and kills the server. Run it against two
binaries (before/after) to compare. Needs only the standard library.
"""

import asyncio
import os
import re
import resource
import signal
import subprocess
import sys
import time

BIN = None


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """`speedup serve` in a child process; stderr is collected in a list."""

    def __init__(self, *flags, ulimit=None):
        cmd = [BIN, "serve", "--host", "127.0.0.1", "--port", "0", *flags]
        if ulimit:
            cmd = ["sh", "-c", f'ulimit {ulimit} && exec "$0" "$@"', *cmd]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline()
        match = re.search(r"http://([\d.]+):(\d+)", line)
        if not match:
            self.proc.wait(5)
            raise SystemExit(f"server did not start: {self.proc.stderr.read()}")
        self.host, self.port = match.group(1), int(match.group(2))
        self.lines = []
        loop = asyncio.get_event_loop()
        loop.run_in_executor(None, self._drain)

    def _drain(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def signal(self, sig):
        self.proc.send_signal(sig)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def request(path, host, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


async def exchange(server, data, half_close=False, timeout=60.0):
    """Sends `data`, returns (status or None for EOF/reset, seconds)."""
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(server.host, server.port), timeout
        )
        writer.write(data)
        await writer.drain()
        if half_close:
            writer.write_eof()
        line = await asyncio.wait_for(reader.readline(), timeout)
        writer.close()
        status = int(line.split()[1]) if line else None
    except (OSError, asyncio.TimeoutError, IndexError, ValueError):
        status = None
    return status, time.monotonic() - start


async def get(server, path, timeout=60.0):
    return await exchange(
        server, request(path, f"{server.host}:{server.port}", "Connection: close\r\n"),
        timeout=timeout,
    )


# --- Memory per connection ---------------------------------------------------

async def big_headers(complete):
    """3,000 connections each send a 390 KB head to /baseline/sleep/60."""
    server = Server()
    count, size = 3000, 390 * 1024
    head = b"GET /baseline/sleep/60 HTTP/1.1\r\nHost: x\r\nx-pad: " + b"a" * size
    head += b"\r\n\r\n" if complete else b"\r\n"
    before = server.rss_mb()
    writers = []

    async def one():
        try:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writers.append(writer)
            writer.write(head)
            await asyncio.wait_for(writer.drain(), 20)
        except (OSError, asyncio.TimeoutError):
            pass

    start = time.monotonic()

    async def all_of_them():
        # 50 at a time: each head arrives whole, so the server reads in big
        # chunks (as from real, separate clients) and its buffers grow.
        for _ in range(count // 50):
            await asyncio.gather(*(one() for _ in range(50)))

    sending = asyncio.ensure_future(all_of_them())
    # The server reads at its own pace: sample its RSS until it has not
    # grown for 5 s after the last byte went out (at most 90 s); keep the peak.
    peak, quiet_since = server.rss_mb(), None
    while time.monotonic() - start < 90:
        await asyncio.sleep(0.5)
        now = server.rss_mb()
        if now > peak + 1:
            quiet_since = None
        peak = max(peak, now)
        if sending.done():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 5:
                break
    await sending
    kind = "complete" if complete else "half-sent"
    print(
        f"big_headers ({kind}): {count} x 390 KB heads: server RSS {before:.0f} MB -> "
        f"{peak:.0f} MB peak (+{peak - before:.0f} MB) within {time.monotonic() - start:.1f} s"
    )
    for writer in writers:
        writer.transport.abort()
    server.kill()


# --- Idle floods ---------------------------------------------------------------

def flood(server, count):
    """`count` connections that send nothing and reconnect when closed, from
    a separate process (so the timed client does not share its event loop).
    Stop it with `.kill()`."""
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--flood", server.host, str(server.port),
         str(count)],
    )


async def flood_forever(host, port, count):
    raise_nofile()

    async def one():
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            try:
                await asyncio.wait_for(reader.read(1), 30)
            except (OSError, asyncio.TimeoutError):
                pass
            writer.transport.abort()

    await asyncio.gather(*(one() for _ in range(count)))


async def timed_requests(server, rounds, timeout):
    times = []
    for _ in range(rounds):
        status, took = await get(server, "/async/sleep/0", timeout)
        times.append(f"{took:.2f}s" if status == 200 else f"no answer after {took:.1f}s")
    return times


async def idle_flood_cap():
    """--max-connections 50 and 400 idle reconnecting connections."""
    server = Server("--max-connections", "50")
    attackers = flood(server, 400)
    await asyncio.sleep(2)
    times = await timed_requests(server, 3, 60)
    attackers.kill()
    server.kill()
    print(f"idle_flood_cap: normal GET /async/sleep/0 behind 400 idle (cap 50): {times}")


async def idle_flood_nofile():
    """Default flags under a soft open-files limit of 1,024; 3,000 idle."""
    server = Server(ulimit="-Sn 1024")
    attackers = flood(server, 3000)
    await asyncio.sleep(3)
    times = await timed_requests(server, 3, 30)
    await asyncio.sleep(5)
    attackers.kill()
    warnings = sum("Too many open files" in line for line in server.lines)
    notes = [line.split("  ")[-1] for line in server.lines if "open-files" in line]
    server.kill()
    print(
        f"idle_flood_nofile: soft limit 1024, 3000 idle: normal GET took {times}; "
        f"{warnings} 'Too many open files' warnings in ~15 s; startup said: {notes}"
    )


# --- No half-dead states --------------------------------------------------------

async def half_dead():
    """--keep-alive 1e19: refused at startup, or a server that answers nothing?"""
    for flag in ["--keep-alive", "--header-timeout"]:
        try:
            server = Server(flag, "1e19")
        except SystemExit as refused:
            print(f"half_dead {flag} 1e19: refused at startup: {str(refused).strip()[:160]}")
            continue
        status, took = await get(server, "/async/sleep/0", 5)
        panics = sum("panicked" in line for line in server.lines)
        print(
            f"half_dead {flag} 1e19: server started; GET -> {status or 'no answer'} "
            f"in {took:.2f}s; {panics} panic line(s) logged"
        )
        server.kill()


# --- Shutdown -------------------------------------------------------------------

async def sigterm_under_load(server, path, clients, after):
    """`clients` GETs of `path`, SIGTERM `after` seconds in: their
    (status, took) results and when the signal was sent."""
    tasks = [asyncio.ensure_future(get(server, path, 30)) for _ in range(clients)]
    await asyncio.sleep(after)
    signalled = time.monotonic()
    server.signal(signal.SIGTERM)
    return await asyncio.gather(*tasks), signalled


def answers(results, missing):
    """How many results had each status, `missing` counting those without."""
    counts = {}
    for status, _ in results:
        counts[status or missing] = counts.get(status or missing, 0) + 1
    return counts


async def shutdown_queued():
    """500 clients on /baseline/sleep/2 (pool of 40, --grace 10), then SIGTERM."""
    server = Server("--grace", "10")
    results, signalled = await sigterm_under_load(server, "/baseline/sleep/2", 500, 1)
    took = time.monotonic() - signalled
    counts = answers(results, "EOF")
    server.proc.wait(30)
    exited = time.monotonic() - signalled
    print(
        f"shutdown_queued: 500 on /baseline/sleep/2, SIGTERM: answers {counts}; "
        f"last answer {took:.1f}s, exit {exited:.1f}s after the signal"
    )


async def shutdown_backlog():
    """--max-connections 10, 50 clients on /async/sleep/2, SIGTERM after 0.5 s:
    40 of them are still waiting in the listen backlog."""
    server = Server("--max-connections", "10")
    results, signalled = await sigterm_under_load(server, "/async/sleep/2", 50, 0.5)
    counts = answers(results, "EOF/reset")
    server.proc.wait(30)
    print(
        f"shutdown_backlog: cap 10, 50 on /async/sleep/2, SIGTERM: answers {counts}; "
        f"exit {time.monotonic() - signalled:.1f}s after the signal"
    )


async def second_signal():
    """A request in flight on /async/sleep/30, SIGTERM, then SIGTERM again."""
    server = Server("--grace", "30")
    task = asyncio.ensure_future(get(server, "/async/sleep/30", 40))
    await asyncio.sleep(0.5)
    server.signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    second = time.monotonic()
    server.signal(signal.SIGTERM)
    try:
        await asyncio.get_event_loop().run_in_executor(None, server.proc.wait, 40)
    except subprocess.TimeoutExpired:
        pass
    exited = time.monotonic() - second
    await task
    cut = [line.split("  ")[-1] for line in server.lines if "cutting" in line]
    print(f"second_signal: exit {exited:.1f}s after the second SIGTERM (grace 30 s); log: {cut}")
    server.kill()


async def keep_alive_coupling():
    """--keep-alive 4 --header-timeout 2: when does an idle connection close?"""
    server = Server("--keep-alive", "4", "--header-timeout", "2")
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request("/async/sleep/0", "x"))
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    await reader.readexactly(len(b'"hello world after 0.0s of sleep"'))
    start = time.monotonic()
    await asyncio.wait_for(reader.read(), 30)
    print(f"keep_alive_coupling: --keep-alive 4 --header-timeout 2: idle connection closed after "
          f"{time.monotonic() - start:.1f}s")
    server.kill()


# --- Protocol manners -------------------------------------------------------------

async def manners():
    server = Server()
    host = f"{server.host}:{server.port}"
    no_host, _ = await exchange(server, b"GET /async/sleep/0 HTTP/1.1\r\n\r\n", timeout=5)
    two_hosts, _ = await exchange(
        server, request("/async/sleep/0", host, "Host: other\r\n"), timeout=5
    )
    half, _ = await exchange(server, request("/async/sleep/0.2", host), half_close=True, timeout=5)
    print(
        f"manners: HTTP/1.1 without Host -> {no_host}; two Hosts -> {two_hosts}; "
        f"half-closed after the request -> {half or 'EOF, no answer'}"
    )
    server.kill()


ATTACKS = {
    "big_headers": lambda: big_headers(True),
    "big_headers_half_sent": lambda: big_headers(False),
    "idle_flood_cap": idle_flood_cap,
    "idle_flood_nofile": idle_flood_nofile,
    "half_dead": half_dead,
    "shutdown_queued": shutdown_queued,
    "shutdown_backlog": shutdown_backlog,
    "second_signal": second_signal,
    "keep_alive_coupling": keep_alive_coupling,
    "manners": manners,
}


def main():
    global BIN
    if sys.argv[1:2] == ["--flood"]:
        host, port, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        asyncio.run(flood_forever(host, port, count))
        return
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    BIN = os.path.abspath(sys.argv[1])
    raise_nofile()
    for name in sys.argv[2:] or list(ATTACKS):
        asyncio.run(ATTACKS[name]())


if __name__ == "__main__":
    main()
