#!/usr/bin/env python3
"""Runs commands in turn, round after round, for a wall-time comparison that a drifting
machine does not bias: hyperfine runs every run of one command before the next, so a
machine that slows down or speeds up during those minutes favours one of them. Here
each round runs every command once (the order reversed every other round), and the
figures are medians over the rounds.

    pair.py --rounds N --json OUT [--server-pid PID] NAME CMD [NAME CMD ...]

Prints one line per command: the median wall time, its quartiles, the median user and
system CPU of the command's processes and (with --server-pid) of the server it talks
to, and how many rounds the first command finished before each other one. Two rounds
of warm-up come first and are not counted. A command that fails stops the run."""

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time


def server_cpu_ms(pid):
    """User + system CPU of process `pid` so far, in ms (clock ticks, 10 ms)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def once(name, cmd, server_pid):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = server_cpu_ms(server_pid)
    t0 = time.perf_counter()
    # No shell in between, as hyperfine -N: its start would be timed with each command.
    done = subprocess.run(shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = (time.perf_counter() - t0) * 1000.0
    s1 = server_cpu_ms(server_pid)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        # Named, not shown: the commands carry a bearer token.
        sys.exit(f"pair.py: {name} failed (exit {done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")
    return {
        "wall": wall,
        "user": (after.ru_utime - before.ru_utime) * 1000.0,
        "sys": (after.ru_stime - before.ru_stime) * 1000.0,
        "server": s1 - s0,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json")
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("commands", nargs="+")
    a = ap.parse_args()
    if len(a.commands) < 4 or len(a.commands) % 2:
        sys.exit("pair.py: give NAME CMD pairs, at least two")
    if a.rounds < 2:
        sys.exit("pair.py: --rounds must be 2 or more (quartiles need two runs)")
    cmds = list(zip(a.commands[0::2], a.commands[1::2]))
    runs = {name: [] for name, _ in cmds}
    for r in range(a.rounds + 2):
        for name, cmd in cmds if r % 2 == 0 else cmds[::-1]:
            m = once(name, cmd, a.server_pid)
            if r >= 2:
                runs[name].append(m)
    first = cmds[0][0]
    summary = {}
    for name, _ in cmds:
        walls = [m["wall"] for m in runs[name]]
        q1, _, q3 = statistics.quantiles(walls, n=4)
        s = {
            "median_ms": statistics.median(walls),
            "q1_ms": q1,
            "q3_ms": q3,
            "user_ms": statistics.median(m["user"] for m in runs[name]),
            "sys_ms": statistics.median(m["sys"] for m in runs[name]),
            "server_cpu_ms": statistics.median(m["server"] for m in runs[name]),
            "first_faster_rounds": sum(
                x["wall"] < y["wall"] for x, y in zip(runs[first], runs[name])
            ),
        }
        summary[name] = s
        line = (f"{name}: wall {s['median_ms']:.1f} ms (quartiles {q1:.1f}–{q3:.1f}), "
                f"CPU user {s['user_ms']:.0f} + sys {s['sys_ms']:.0f} ms")
        if a.server_pid:
            line += f", server CPU {s['server_cpu_ms']:.0f} ms"
        if name != first:
            line += f"; {first} faster in {s['first_faster_rounds']} of {a.rounds} rounds"
        print(line)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rounds": a.rounds, "results": summary, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
