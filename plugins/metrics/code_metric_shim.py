# optd's runner for a `code` metric, the first thing that runs inside its sandbox. It speaks JSON
# lines on fd 0 (requests) and fd 1 (replies); the user's code gets /dev/null for both, and its
# print() goes to a counting writer that stops it at the output limit.
#
#   python3 -I -c <this file> '<limits as JSON>'
#   → {"load": "<python source>"}      ← {"ok": true, "class": "MyMetric"} | {"ok": false, "error", "line", "column"}
#   → {"score": {"output": …, …}}      ← {"ok": true, "name", "value", "reason", "failed", "recycle"}
#                                       | {"ok": false, "error", "recycle"}
# "recycle" asks optd for a fresh interpreter: this one hit a limit or left processes or threads
# behind.
import dataclasses
import errno
import inspect
import json
import os
import resource
import signal
import sys
import traceback
import types
from typing import Any, Optional

limits = json.loads(sys.argv[1])


class LimitExceeded(BaseException):  # not an Exception: `except Exception` in the metric cannot swallow it
    pass


def apply_limits():
    memory = limits["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"], limits["file_bytes"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


# The protocol keeps private copies of fds 0 and 1; the metric's fds 0, 1 and 2 are /dev/null.
requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
replies = os.dup(1)
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
owner = os.getpid()


def forget_protocol():  # a process the metric forks must not answer for it
    requests.close()
    os.close(replies)


os.register_at_fork(after_in_child=forget_protocol)


def reply(message):
    if os.getpid() != owner:  # forked without os.fork (ctypes): never write, just leave
        os._exit(0)
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(replies, data):]


class CappedOutput:
    """sys.stdout and sys.stderr for the metric: counts what it prints, keeps nothing."""

    def __init__(self):
        self.written = 0

    def write(self, text):
        self.written += len(text)
        if self.written > limits["output_bytes"]:
            raise LimitExceeded("output limit exceeded: printed more than %d bytes" % limits["output_bytes"])
        return len(text)

    def flush(self):
        pass


# Opik's SDK as far as a metric uses it: BaseMetric and ScoreResult under their import paths.
@dataclasses.dataclass
class ScoreResult:
    name: str
    value: float
    reason: Optional[str] = None
    metadata: Optional[dict] = None
    scoring_failed: bool = False


class BaseMetric:
    def __init__(self, name: str = "code", track: bool = True, project_name: Optional[str] = None, **ignored: Any):
        self.name = name

    def score(self, *args: Any, **kwargs: Any):
        raise NotImplementedError()

    async def ascore(self, *args: Any, **kwargs: Any):
        return self.score(*args, **kwargs)


def install_opik_stub():
    modules = {}
    for name in ("opik", "opik.evaluation", "opik.evaluation.metrics", "opik.evaluation.metrics.base_metric",
                 "opik.evaluation.metrics.score_result"):
        modules[name] = types.ModuleType(name)
        modules[name].__path__ = []
        sys.modules[name] = modules[name]
    modules["opik"].evaluation = modules["opik.evaluation"]
    modules["opik.evaluation"].metrics = modules["opik.evaluation.metrics"]
    metrics = modules["opik.evaluation.metrics"]
    metrics.base_metric = modules["opik.evaluation.metrics.base_metric"]
    metrics.score_result = modules["opik.evaluation.metrics.score_result"]
    for m in (metrics, metrics.base_metric, metrics.score_result):
        m.BaseMetric = BaseMetric
        m.ScoreResult = ScoreResult


def where(error):
    """(line, column) of an error in the metric's source, as far as Python tells."""
    if isinstance(error, SyntaxError):
        return error.lineno or 0, error.offset or 0
    line = 0
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename == "<metric>":
            line = frame.lineno or 0
    return line, 0


def describe(error):
    if isinstance(error, SyntaxError):
        return "%s: %s" % (type(error).__name__, error.msg)
    if isinstance(error, LimitExceeded):
        return str(error)
    if isinstance(error, MemoryError):
        return "memory limit exceeded (%d MiB)" % (limits["memory_bytes"] >> 20)
    if isinstance(error, BlockingIOError) and error.errno == errno.EAGAIN:  # fork, most likely
        return "process limit exceeded (%d processes): %s" % (limits["processes"], error)
    text = str(error)
    return type(error).__name__ + (": " + text if text else "")


def on_cpu_limit(signum, frame):
    raise LimitExceeded("CPU time limit exceeded (%g s per score)" % limits["cpu_seconds"])


def leftovers():
    """True when the metric left threads, or processes in the sandbox, behind."""
    if len(os.listdir("/proc/self/task")) > 1:
        return True
    if limits.get("pid_namespace"):  # bwrap's init, and us
        return sum(1 for p in os.listdir("/proc") if p.isdigit()) > 2
    return any(open("/proc/self/task/%s/children" % t).read().strip() for t in os.listdir("/proc/self/task"))


class guarded:
    """The metric's code runs under the CPU-time limit, with print() counted and dropped."""

    def __enter__(self):
        sys.stdout = sys.stderr = CappedOutput()
        signal.setitimer(signal.ITIMER_PROF, limits["cpu_seconds"])

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_PROF, 0)
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


def load(source):
    install_opik_stub()
    namespace = types.ModuleType("optd_metric")
    try:
        with guarded():
            exec(compile(source, "<metric>", "exec"), namespace.__dict__)
            # As Opik's runner looks: the module's members by name, the first BaseMetric subclass.
            classes = [c for _, c in inspect.getmembers(namespace, inspect.isclass)
                       if issubclass(c, BaseMetric) and c is not BaseMetric]
            if not classes:
                return None, {"ok": False, "error": "the code defines no subclass of BaseMetric", "line": 0, "column": 0}
            return classes[0](), {"ok": True, "class": classes[0].__name__}
    except BaseException as e:
        line, column = where(e)
        return None, {"ok": False, "error": describe(e), "line": line, "column": column}


def score(metric, kwargs):
    try:
        with guarded():
            result = metric.score(**kwargs)
            if isinstance(result, list):
                result = result[0] if result else None
            if result is None:
                return {"ok": True, "name": str(getattr(metric, "name", "code")), "value": 0.0,
                        "reason": "No ScoreResult returned by metric", "failed": False}
            value = float(getattr(result, "value", 0) or 0)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError("the score's value is not a number")
            reason = getattr(result, "reason", None)
            return {"ok": True, "name": str(getattr(result, "name", "") or getattr(metric, "name", "code"))[:200],
                    "value": value, "reason": "" if reason is None else str(reason)[:2000],
                    "failed": bool(getattr(result, "scoring_failed", False))}
    except BaseException as e:
        return {"ok": False, "error": describe(e)[:2000],
                "recycle": isinstance(e, (LimitExceeded, MemoryError, RecursionError, BlockingIOError))}


def main():
    apply_limits()
    signal.signal(signal.SIGPROF, on_cpu_limit)
    metric = None
    for line in requests:
        request = json.loads(line)
        if "load" in request:
            metric, answer = load(request["load"])
        elif metric is None:
            answer = {"ok": False, "error": "no metric loaded"}
        else:
            answer = score(metric, request["score"])
            answer["recycle"] = answer.get("recycle", False) or leftovers()
        reply(answer)


main()
