"""Run a test body in several threads at once and collect what they raise."""
import threading


def run_in_threads(work, n=4):
    """work(seed) in n threads (seeds 0..n-1), started together; returns the exceptions raised."""
    errors = []

    def guarded(seed):
        try:
            work(seed)
        except Exception as e:  # reported by the caller's assertion
            errors.append(e)

    ts = [threading.Thread(target=guarded, args=(s,)) for s in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors
