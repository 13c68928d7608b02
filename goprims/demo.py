"""The README's demo: ``./dev demo`` (``python -m goprims.demo``).

``pipeline``: a producer, fan-out workers that ``select`` with a timeout case, fan-in, and
printed results -- Go's classic channel pipeline, in threads.
"""

from __future__ import annotations

import argparse
import threading

from goprims.chan import Chan, Recv, Send, after, select


def pipeline(n: int = 40, workers: int = 4) -> dict[str, int]:
    """Square ``n`` numbers with ``workers`` fan-out workers; return counts per outcome."""
    jobs: Chan[int] = Chan(8)
    results: Chan[tuple[str, int, int]] = Chan(8)

    def producer() -> None:
        for i in range(n):
            jobs.send(i)
        jobs.close()

    def worker(name: str) -> None:
        idle_checks = 0
        while True:
            # A timeout case: if no job arrives within 50 ms, note it and wait again.
            sel = select(Recv(jobs), Recv(after(0.05)))
            if sel.index == 1:
                idle_checks += 1
                continue
            if not sel.ok:  # jobs closed and drained
                break
            results.send((name, sel.value, sel.value * sel.value))
        select(Send(results, (name, -1, idle_checks)))

    threads = [threading.Thread(target=producer)]
    threads += [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(workers)]
    for t in threads:
        t.start()

    counts: dict[str, int] = {}
    finished = 0
    total = 0
    for name, i, sq in results:  # fan-in
        if i < 0:
            finished += 1
            if finished == workers:
                results.close()
            continue
        counts[name] = counts.get(name, 0) + 1
        total += sq
        print(f"  {name}: {i:3d}^2 = {sq}")
    for t in threads:
        t.join()
    expected = sum(i * i for i in range(n))
    print(f"sum of squares: {total} (expected {expected})")
    print("jobs per worker:", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    if total != expected:
        raise SystemExit("pipeline lost or duplicated a value")
    return counts


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m goprims.demo``."""
    parser = argparse.ArgumentParser(prog="python -m goprims.demo", description=__doc__)
    parser.add_argument("--n", type=int, default=40, help="numbers to square")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    print("== goprims channel pipeline: producer -> fan-out (select + timeout) -> fan-in")
    pipeline(args.n, args.workers)


if __name__ == "__main__":
    main()
