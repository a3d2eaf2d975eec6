"""Trusted per-test driver for the quantbench Python sandbox (packages/evals/src/sandbox).

It runs inside the bubblewrap sandbox, one process per test case:
  1. reads the untrusted program and the test payload, while still trusted;
  2. sets resource limits (address space, CPU seconds, processes, file size, open files, no core dumps);
  3. when started as root (bwrap without a user namespace), drops to an unprivileged uid/gid and clears groups,
     which also clears every capability and makes RLIMIT_NPROC bind;
  4. reports `{"event": "ready"}` on fd 3, then runs the program the way LiveCodeBench's
     lcb_runner/evaluation/testing_util.py does (same import prelude, same `if __name__` clean-up and function wrapping,
     same stdin mocking, same call-based comparison), and reports one JSON status line on fd 3.

Everything after step 4 shares the process with untrusted code, so the host treats fd 3 as advisory for errors: a
stdin test's verdict is computed by the host from the program's output, never here. Functional verdicts are computed
here (Python `==`, as the LCB harness does), which a deliberately adversarial program could forge.

Arguments: --mode stdin|functional --harness lcb|script --code PATH [--func NAME] --mem BYTES --cpu SECONDS
           --nproc N --fsize BYTES --nofile N --output BYTES [--uid UID --gid GID]
Stdin: the raw test input (stdin mode) or JSON {"input": str, "expected": str} (functional mode).
Exit codes: 0 finished, 101 runtime error, 102 memory error, 103 output limit, 120 driver setup failure.
"""

import os
import sys

STATUS_FD = 3


def report(obj):
    import json

    data = (json.dumps(obj) + "\n").encode("utf-8", "replace")
    try:
        os.write(STATUS_FD, data)
    except OSError:
        pass


def parse_args(argv):
    args = {}
    i = 0
    while i < len(argv):
        key = argv[i]
        if not key.startswith("--") or i + 1 >= len(argv):
            raise ValueError("bad argument: " + key)
        args[key[2:]] = argv[i + 1]
        i += 2
    return args


def setup(args):
    import resource

    def limit(which, soft, hard=None):
        hard = soft if hard is None else hard
        resource.setrlimit(which, (soft, hard))

    mem = int(args["mem"])
    limit(resource.RLIMIT_AS, mem)
    limit(resource.RLIMIT_DATA, mem)
    cpu = int(args["cpu"])
    limit(resource.RLIMIT_CPU, cpu, cpu + 1)
    limit(resource.RLIMIT_NPROC, int(args["nproc"]))
    limit(resource.RLIMIT_FSIZE, int(args["fsize"]))
    limit(resource.RLIMIT_NOFILE, int(args["nofile"]))
    limit(resource.RLIMIT_CORE, 0)
    if os.getuid() == 0 or os.geteuid() == 0:
        if "uid" not in args:
            raise RuntimeError("driver started as root without --uid to drop to")
        uid, gid = int(args["uid"]), int(args["gid"])
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getuid() == 0 or os.geteuid() == 0 or os.getresuid() != (uid, uid, uid):
            raise RuntimeError("could not drop root")
    os.makedirs("/tmp/work", exist_ok=True)
    os.chdir("/tmp/work")


# --- LiveCodeBench harness semantics (lcb_runner/evaluation/testing_util.py), re-implemented ---------------------

IMPORT_STRING = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\n"
    "from statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\n"
    "from io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\n"
    "import string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\n"
    "import math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"
)


def truncate(s, length=300):
    s = s if isinstance(s, str) else str(s)
    if len(s) <= length:
        return s
    return s[: length // 2] + "...(truncated) ..." + s[-length // 2 :]


def clean_if_name(code):
    import ast

    try:
        tree = ast.parse(code)
        last = tree.body[-1]
        if isinstance(last, ast.If) and ast.unparse(last.test).strip() == "__name__ == '__main__'":
            code = ast.unparse(tree.body[:-1]) + "\n" + ast.unparse(last.body)
    except Exception:
        pass
    return code


def make_function(code):
    import ast

    try:
        imports, others = [], []
        tree = ast.parse(code)
        for stmt in tree.body:
            (imports if isinstance(stmt, (ast.Import, ast.ImportFrom)) else others).append(stmt)
        fn = ast.FunctionDef(
            name="wrapped_function",
            args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
            body=others,
            decorator_list=[],
            lineno=-1,
        )
        return IMPORT_STRING + "\n" + ast.unparse(imports) + "\n" + ast.unparse(fn)
    except Exception:
        return code


def compile_code(code):
    from types import ModuleType

    module = ModuleType("tmp_sol", "")
    exec(compile(code, "<solution>", "exec"), module.__dict__)
    if "class Solution" in code:
        return module.Solution()
    return module


class CappedStringIO:
    """Stands in for LCB's `Capturing` StringIO, but enforces the output cap while the program prints."""

    def __init__(self, cap):
        import io

        self._buf = io.StringIO()
        self._cap = cap
        self._size = 0

    def write(self, s):
        n = self._buf.write(s)
        self._size += n
        if self._size > self._cap:
            report({"status": "output-limit"})
            os._exit(103)
        return n

    def __getattr__(self, name):
        return getattr(self._buf, name)


def call_method(method, inputs):
    # Same patches as LCB's call_method (note: stacked patches enter bottom-up, so the readline/readlines/read
    # patches land on the original sys.stdin and the program sees a plain StringIO, exactly as in LCB).
    from io import StringIO
    from unittest.mock import mock_open, patch

    lines = iter(inputs.split("\n"))

    @patch("builtins.open", mock_open(read_data=inputs))
    @patch("sys.stdin", StringIO(inputs))
    @patch("sys.stdin.readline", lambda *a: next(lines))
    @patch("sys.stdin.readlines", lambda *a: inputs.split("\n"))
    @patch("sys.stdin.read", lambda *a: inputs)
    def inner(m):
        try:
            return m()
        except SystemExit:
            pass

    return inner(method)


def run_stdin_lcb(code, inputs, output_cap):
    code = make_function(clean_if_name(code))
    sol = compile_code(code)
    method = getattr(sol, "wrapped_function", None)
    if method is None:
        raise RuntimeError("no wrapped_function after compiling the program")
    real_stdout = sys.stdout
    captured = CappedStringIO(output_cap)
    sys.stdout = captured
    try:
        call_method(method, inputs)
    finally:
        sys.stdout = real_stdout
    real_stdout.write(captured.getvalue())
    real_stdout.flush()


def run_stdin_script(code):
    from types import ModuleType

    main = ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    try:
        exec(compile(code, "<solution>", "exec"), main.__dict__)
    except SystemExit as e:
        if e.code not in (None, 0):
            raise
    sys.stdout.flush()


def run_functional(code, func_name, payload):
    import json

    inputs = [json.loads(line) for line in payload["input"].split("\n")]
    expected = json.loads(payload["expected"])
    sol = compile_code(IMPORT_STRING + "\n\n" + code)
    method = getattr(sol, func_name, None) if func_name else None
    if method is None:
        report({"status": "runtime-error", "error": "method %r not found" % func_name})
        return 101
    prediction = method(*inputs)
    if isinstance(prediction, tuple):
        prediction = list(prediction)
    ok = prediction == expected
    if not ok:
        report({"status": "wrong-answer", "got": truncate(prediction), "expected": truncate(expected)})
    else:
        report({"status": "pass"})
    return 0


def main():
    sys.set_int_max_str_digits(0) if hasattr(sys, "set_int_max_str_digits") else None
    try:
        args = parse_args(sys.argv[1:])
        with open(args["code"], "r", encoding="utf-8", errors="replace") as f:
            code = f.read()
        mode, harness = args["mode"], args.get("harness", "lcb")
        # The script harness leaves fd 0 to the program; the others read the whole input first, as LCB does.
        raw = "" if (mode == "stdin" and harness == "script") else sys.stdin.buffer.read().decode("utf-8", "replace")
        payload = None
        if mode == "functional":
            import json

            payload = json.loads(raw)
        # Pre-import what the prelude needs while the interpreter's files are certainly readable.
        import unittest.mock  # noqa: F401
        import ast  # noqa: F401
        import json  # noqa: F401
        import decimal  # noqa: F401
        setup(args)
    except BaseException as e:  # noqa: BLE001
        report({"event": "setup-failed", "error": repr(e)})
        sys.stderr.write("sandbox driver setup failed: %r\n" % (e,))
        os._exit(120)

    report({"event": "ready"})
    import traceback

    rc = 0
    try:
        if mode == "functional":
            rc = run_functional(code, args.get("func"), payload)
        elif harness == "script":
            run_stdin_script(code)
            report({"status": "finished"})
        else:
            run_stdin_lcb(code, raw, int(args["output"]))
            report({"status": "finished"})
    except MemoryError:
        report({"status": "memory-limit"})
        rc = 102
    except BaseException as e:  # noqa: BLE001
        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
        report({"status": "runtime-error", "error": truncate(repr(e))})
        rc = 101
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    os._exit(rc)


if __name__ == "__main__":
    main()
