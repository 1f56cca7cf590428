#!/usr/bin/env python3
"""The profile samples inside a frame run's longest calls.

Usage: bench/perf_calls.py PERF_DATA LOG API ROUND [CALLS]

PERF_DATA is a `PERF=1 bench/run-poll-bench.sh` recording (poll-perf-<api>-<round>.data), LOG
the script's stderr, API one of client, request, socket, and ROUND the round (1-based; for the
client, whose log has two lines a round, poll() and read_response_body_chunk(), the first
ROUND*2-1 line is poll()). For each of the first CALLS (default 5) longest calls the log names
(`#index@start:wall/cpu`, ns on CLOCK_MONOTONIC, the clock `perf record -k mono` stamps with),
it prints how many samples fell inside it and where they were. At 10,000 samples a second a
call that ran on the CPU for 1 ms holds about ten; far fewer mean the virtual CPU itself was
not running (the host took it), even when the guest counted the time as the thread's CPU.
"""
import collections
import re
import subprocess
import sys


def main():
    perf, log, api, rnd = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    lines = [l for l in open(log) if f"{api} longest calls" in l]
    line = lines[rnd - 1]
    calls = [tuple(map(int, c)) for c in re.findall(r"#(\d+)@(\d+):(\d+)/(\d+)", line)]
    script = subprocess.run(
        ["perf", "script", "-i", perf, "-F", "tid,pid,time,ip,sym"],
        capture_output=True, text=True, check=True,
    ).stdout
    samples, current = [], None
    for l in script.splitlines():
        m = re.match(r"\s*(\d+)/(\d+)\s+(\d+)\.(\d+):", l)
        if m:
            at = int(m.group(3)) * 10**9 + int(m.group(4).ljust(9, "0")[:9])
            current = (int(m.group(2)), at, [])
            samples.append(current)
        elif l.strip() and current is not None:
            parts = l.split(None, 1)
            current[2].append(parts[1].strip() if len(parts) > 1 else "?")
    main_tid = samples[0][0]
    for index, start, wall, cpu in calls[:count]:
        inside = [s for s in samples if start <= s[1] <= start + wall]
        on_main = sum(1 for s in inside if s[0] == main_tid)
        print(f"call #{index}: wall {wall / 1000:.0f} us, CPU {cpu / 1000:.0f} us, "
              f"{on_main} samples on the calling thread (about {cpu // 100_000} expected), "
              f"{len(inside) - on_main} on others")
        where = collections.Counter()
        for tid, _, stack in inside:
            syscall = next((f for f in stack if f.startswith("__x64_sys_")), "")
            thread = "caller" if tid == main_tid else f"thread {tid}"
            where[(thread, stack[0][:40] if stack else "?", syscall)] += 1
        for (thread, leaf, syscall), n in where.most_common(8):
            print(f"    {n:4d}  {thread:12s} {leaf:40s} {syscall}")


if __name__ == "__main__":
    main()
