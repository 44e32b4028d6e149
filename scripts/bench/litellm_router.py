"""LiteLLM's Router against the loopback StubServer: the Python row of scripts/bench-compare.sh.

Same request, same measurements and the same JSON line per mode as Benchmarks/Sources/CompareBench:
median and p99 of N sequential calls (with the stub's own service time over the same window), and
calls per second for a bounded number of calls at a fixed concurrency.

    python litellm_router.py --base http://127.0.0.1:PORT/v1 [--modes stream,json] [--sequential 300]
                             [--warmup 50] [--calls 2000] [--concurrency 50] [--round 1]
"""
import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request

# Never fetch the model cost map (only loopback is reachable) and keep LiteLLM quiet.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

import litellm  # noqa: E402
from litellm import Router  # noqa: E402

EXPECTED = "The answer is forty-two: 42."
PROMPT = "Say the answer to the ultimate question in one short sentence."


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--base", default="http://127.0.0.1:8080/v1")
    p.add_argument("--modes", default="stream,json")
    p.add_argument("--sequential", type=int, default=300)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--round", type=int, default=1)
    return p.parse_args()


def stub(base, method, path):
    root = base.rsplit("/v1", 1)[0]
    req = urllib.request.Request(root + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def make_router(base):
    params = {"model": "openai/stub-model", "api_base": base, "api_key": "sk-loopback-stub"}
    return Router(
        model_list=[
            # Two deployments of one model name (load balanced), and a fallback model.
            {"model_name": "stub", "litellm_params": dict(params)},
            {"model_name": "stub", "litellm_params": dict(params)},
            {"model_name": "stub-fallback", "litellm_params": dict(params)},
        ],
        fallbacks=[{"stub": ["stub-fallback"]}],
        num_retries=2,
    )


async def call(router, stream):
    messages = [{"role": "user", "content": PROMPT}]
    if stream:
        resp = await router.acompletion(
            model="stub", messages=messages, stream=True, stream_options={"include_usage": True}, max_tokens=64
        )
        text = ""
        async for chunk in resp:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    else:
        resp = await router.acompletion(model="stub", messages=messages, max_tokens=64)
        text = resp.choices[0].message.content
    if text != EXPECTED:
        raise RuntimeError(f"litellm: unexpected answer {text!r}")


def percentile(xs, p):
    import math
    return xs[min(len(xs) - 1, max(0, math.ceil(len(xs) * p) - 1))]


async def measure(router, args, mode):
    stream = mode == "stream"
    for _ in range(args.warmup):
        await call(router, stream)
    stub(args.base, "POST", "/stats/reset")
    lat = []
    for _ in range(args.sequential):
        t0 = time.perf_counter_ns()
        await call(router, stream)
        lat.append((time.perf_counter_ns() - t0) / 1000)
    s = stub(args.base, "GET", "/stats")
    if s["requests"] != args.sequential:
        raise RuntimeError(f"litellm: the stub saw {s['requests']} requests for {args.sequential} calls")
    lat.sort()

    remaining = [args.calls]

    async def worker():
        while remaining[0] > 0:
            remaining[0] -= 1
            await call(router, stream)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    wall = time.perf_counter() - t0
    median, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
    line = {
        "client": "litellm", "mode": mode, "round": args.round, "sequential": args.sequential,
        "median_us": median, "p99_us": p99, "stub_median_us": s["median_us"], "stub_p99_us": s["p99_us"],
        "added_median_us": median - s["median_us"], "added_p99_us": p99 - s["median_us"],
        "calls": args.calls, "concurrency": args.concurrency, "calls_per_s": args.calls / wall,
        "litellm_version": _version(),
    }
    print(json.dumps(line, sort_keys=True), flush=True)


def _version():
    try:
        from importlib.metadata import version
        return version("litellm")
    except Exception:  # pragma: no cover
        return "unknown"


async def main():
    args = parse()
    litellm.suppress_debug_info = True
    litellm.telemetry = False
    router = make_router(args.base)
    for mode in args.modes.split(","):
        await measure(router, args, mode)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # one line on stderr, non-zero exit: the script stops
        print(f"litellm_router: {e!r}", file=sys.stderr)
        sys.exit(1)
