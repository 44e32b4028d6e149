#!/usr/bin/env python3
"""YMERA's launcher for llama.cpp's own HTTP server, as shipped in the `xllamacpp` wheel.

The wheel has no command-line entry point: this script fills `xllamacpp.CommonParams()`,
constructs `xllamacpp.Server(params)` (which loads the model and serves HTTP on its own
threads), writes the address it listens on to a ready file, and stays up until SIGTERM or
SIGINT. It binds loopback addresses only.

Exit codes: 0 clean stop, 2 bad arguments, 3 xllamacpp missing or broken, 4 model file
missing, 5 the server failed to start.
"""

import argparse
import json
import os
import signal
import sys
import time

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def fail(code, message):
    sys.stderr.write("ymera_llama_server: " + message + "\n")
    sys.stderr.flush()
    sys.exit(code)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="ymera_llama_server.py", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="path of the GGUF model file")
    p.add_argument("--alias", required=True, help="model name the server answers with")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one (default)")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for generation and prompt processing")
    p.add_argument("--ctx", type=int, default=8192, help="context size in tokens")
    p.add_argument("--parallel", type=int, default=1, help="requests served at once (slots)")
    p.add_argument("--ready-file", required=True, help="JSON file written once the server listens")
    args = p.parse_args(argv)
    if args.host not in LOOPBACK:
        fail(2, "refusing to bind %r: only loopback addresses are allowed" % args.host)
    if not 0 <= args.port <= 65535:
        fail(2, "port %d is out of range" % args.port)
    if args.threads < 1 or args.ctx < 128 or args.parallel < 1:
        fail(2, "threads and parallel must be at least 1 and ctx at least 128")
    return args


def write_ready(path, payload):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(payload, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv):
    args = parse_args(argv)
    try:
        import xllamacpp
    except Exception as e:  # ImportError, or OSError for a missing libgomp.so.1
        fail(3, "cannot import xllamacpp (%s: %s); run `ymera local install` "
                "(on Debian/Ubuntu the system package libgomp1 is also needed)" % (type(e).__name__, e))
    if not os.path.isfile(args.model):
        fail(4, "model file %s does not exist; run `ymera local install`" % args.model)

    # Signals are taken synchronously with sigwait; block them before the server starts its
    # threads so that every thread inherits the mask and the main thread receives them.
    stop_signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx
    params.n_parallel = args.parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.n_threads_http = max(2, args.parallel + 1)
    params.endpoint_metrics = True
    params.ui = False

    started = time.time()
    try:
        server = xllamacpp.Server(params)
    except Exception as e:
        fail(5, "llama.cpp server failed to start: %s: %s" % (type(e).__name__, e))
    address = server.listening_address
    port = int(address.rsplit(":", 1)[1].strip("/")) if ":" in address else args.port
    write_ready(args.ready_file, {
        "address": address,
        "host": args.host,
        "port": port,
        "pid": os.getpid(),
        "alias": args.alias,
        "ctx": args.ctx,
        "threads": args.threads,
        "parallel": args.parallel,
        "xllamacppVersion": getattr(xllamacpp, "__version__", "unknown"),
        "loadSeconds": round(time.time() - started, 3),
    })
    sys.stderr.write("ymera_llama_server: listening on %s (pid %d)\n" % (address, os.getpid()))
    sys.stderr.flush()

    received = signal.sigwait(stop_signals)
    sys.stderr.write("ymera_llama_server: %s received, stopping\n" % signal.Signals(received).name)
    sys.stderr.flush()
    try:
        os.unlink(args.ready_file)
    except OSError:
        pass
    del server  # stops the HTTP server and joins its threads
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
