"""Drives `runner mcp` with the official MCP Python SDK (`mcp` from PyPI).

Usage: python3 client.py STEPS_JSON -- RUNNER_ARGV...

STEPS_JSON is a list of steps, run in order over one session:
  {"list": true}                      tools/list
  {"call": NAME, "arguments": {...}}  tools/call
  {"post": URL}                       an HTTP POST from here (e.g. to move the sandbox clock)
  {"write": PATH, "text": TEXT}       writes a file (relative to the project) mid-session
  {"together": [CALL, ...]}           those tools/call requests sent at once, without
                                      waiting for one to end before the next is sent
Each step prints one JSON line on stdout: the result as the SDK parsed it.
The server's stderr goes to this script's stderr.
"""

import asyncio
import json
import os
import sys
import urllib.request

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def call(session, step):
    result = await session.call_tool(step["call"], step.get("arguments") or {})
    texts = [c.text for c in result.content if c.type == "text"]
    return {"is_error": bool(result.is_error), "text": "\n".join(texts)}


async def main(steps, argv):
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(os.environ))
    async with stdio_client(params, errlog=sys.stderr) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            print(json.dumps({"initialized": init.server_info.name}), flush=True)
            for step in steps:
                if "list" in step:
                    result = await session.list_tools()
                    tools = [t.model_dump(by_alias=True, exclude_none=True) for t in result.tools]
                    print(json.dumps({"tools": tools}), flush=True)
                elif "call" in step:
                    print(json.dumps(await call(session, step)), flush=True)
                elif "together" in step:
                    results = await asyncio.gather(*(call(session, c) for c in step["together"]))
                    print(json.dumps({"together": list(results)}), flush=True)
                elif "write" in step:
                    with open(step["write"], "w", encoding="utf-8") as f:
                        f.write(step["text"])
                    print(json.dumps({"written": step["write"]}), flush=True)
                elif "post" in step:
                    req = urllib.request.Request(step["post"], data=b"", method="POST")
                    with urllib.request.urlopen(req) as r:
                        print(json.dumps({"posted": r.status}), flush=True)


if __name__ == "__main__":
    sep = sys.argv.index("--")
    asyncio.run(main(json.loads(sys.argv[1]), sys.argv[sep + 1:]))
