#!/usr/bin/env python3
# Start-up CPU of short commands (`tsf <cmd> --help`, a bare `node -e 0`): user+sys of each child
# from wait4 (microseconds, not GNU time's 10 ms steps), the variants alternated round by round so
# a loaded machine's drift hits all of them alike; medians, and each median as a ratio to the first
# variant's (give the bare node first). Python because node cannot read a child's rusage.
#   python3 scripts/bench/start-up-cpu.py ROUNDS 'label=command ...' ...
import os, shlex, statistics, sys

rounds = int(sys.argv[1])
variants = [a.split('=', 1) for a in sys.argv[2:]]
cpu = {label: [] for label, _ in variants}
rss = {label: [] for label, _ in variants}
devnull = os.open('/dev/null', os.O_WRONLY)
for _ in range(rounds):
    for label, command in variants:
        argv = shlex.split(command)
        pid = os.fork()
        if pid == 0:
            os.dup2(devnull, 1)
            os.execvp(argv[0], argv)
        _, status, usage = os.wait4(pid, 0)
        if status != 0:
            print(f'{label}: exit status {status}', file=sys.stderr)
        cpu[label].append(usage.ru_utime + usage.ru_stime)
        rss[label].append(usage.ru_maxrss / 1024)
first = statistics.median(cpu[variants[0][0]])
for label, _ in variants:
    v = sorted(cpu[label])
    m = statistics.median(v)
    print(
        f'{label:24s} median {m * 1000:6.1f} ms  p25 {v[len(v) // 4] * 1000:6.1f}  p75 {v[3 * len(v) // 4] * 1000:6.1f}'
        f'  {m / first:4.2f}x  peak RSS {statistics.median(rss[label]):5.1f} MiB'
    )
