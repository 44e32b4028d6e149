"""`ymera mcp --simulate` driven by the official Python MCP SDK, an independent client.

Checks what a Python agent sees: the handshake, every tool listed with an output schema, a plan and a
run whose structured results the SDK itself validates against the published output schemas, and
tool-level failures (unknown run, bad argument type) that come back as isError results — not as
exceptions. Usage: python mcp_sdk_check.py YMERA_BINARY DATA_DIR
"""
import asyncio
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def g(obj, snake, camel):
    """A field by its name in SDK 2.x (snake_case) or 1.x (camelCase)."""
    return getattr(obj, snake) if hasattr(obj, snake) else getattr(obj, camel)


async def main(binary: str, data_dir: str) -> int:
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    params = StdioServerParameters(
        command=binary, args=["mcp", "--simulate", "--validator", "heuristic", "--data-dir", data_dir]
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            name = g(init, "server_info", "serverInfo").name
            version = g(init, "protocol_version", "protocolVersion")
            check(name == "ymera", f"initialize: server {name}, protocol {version}")
            tools = (await session.list_tools()).tools
            names = {t.name for t in tools}
            gate_tools = {"approve_step", "reject_step", "rerun_step"}
            check(len(tools) == 13 and gate_tools <= names, f"tools/list: {len(tools)} tools, the gate tools {'' if gate_tools <= names else 'missing'}".rstrip())
            check(all(g(t, "output_schema", "outputSchema") for t in tools), "every tool has an outputSchema")

            # The SDK validates structuredContent against the tool's outputSchema itself (and raises if not).
            plan = await session.call_tool("plan_task", {"task": "Write a haiku about SQLite", "seed": 3})
            check(not g(plan, "is_error", "isError") and (g(plan, "structured_content", "structuredContent") or {}).get("plan_id"),
                  "plan_task: structured result with a plan_id")
            started = await session.call_tool("start_run", {"plan_id": g(plan, "structured_content", "structuredContent")["plan_id"]})
            run_id = (g(started, "structured_content", "structuredContent") or {}).get("run_id")
            check(not g(started, "is_error", "isError") and run_id, f"start_run from the plan: run {run_id}")
            status = None
            for _ in range(600):
                state = await session.call_tool("run_state", {"run_id": run_id})
                sc = g(state, "structured_content", "structuredContent") or {}
                if sc.get("terminal"):
                    status = sc.get("status")
                    break
                await asyncio.sleep(0.1)
            check(status == "succeeded", f"run_state: the run ended {status}")
            events = await session.call_tool("run_events", {"run_id": run_id, "limit": 5})
            rows = (g(events, "structured_content", "structuredContent") or {}).get("events", [])
            check(len(rows) == 5 and all("seq_end" in r for r in rows), "run_events: 5 rows with seq and seq_end")

            # Tool-level failures are results the model can read, not exceptions.
            unknown = await session.call_tool("run_state", {"run_id": "no-such-run"})
            text = unknown.content[0].text if unknown.content else ""
            check(g(unknown, "is_error", "isError") is True and "unknown run id" in text, f"unknown run id is an isError result: {text[:120]}")
            bad = await session.call_tool("list_runs", {"limit": 2.5})
            text = bad.content[0].text if bad.content else ""
            check(g(bad, "is_error", "isError") is True and "limit" in text, f"limit 2.5 is an isError result: {text[:120]}")

            templates = g(await session.list_resource_templates(), "resource_templates", "resourceTemplates")
            check(any(g(t, "uri_template", "uriTemplate") == "ymera://runs/{id}" for t in templates), "resources/templates/list offers ymera://runs/{id}")
            listed = await session.list_resources()
            check(any(str(r.uri) == f"ymera://runs/{run_id}" for r in listed.resources), "resources/list lists the run")
    print(f"python sdk: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2])))
