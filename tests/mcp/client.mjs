// Drives `runner mcp` with the official MCP TypeScript SDK (@modelcontextprotocol/sdk):
// lists the tools and makes one call. Usage:
//   node client.mjs TOOL ARGS_JSON -- RUNNER_ARGV...
// Prints one JSON line: {"tools": [...names], "call": {"is_error", "text"}}.
// The SDK is found through NODE_PATH (.ci/run installs it outside the repository).
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = require("@modelcontextprotocol/sdk/client/stdio.js");

const argv = process.argv.slice(2);
const sep = argv.indexOf("--");
const [tool, args] = [argv[0], JSON.parse(argv[1])];
const [command, ...rest] = argv.slice(sep + 1);

const transport = new StdioClientTransport({ command, args: rest, env: process.env, stderr: "inherit" });
const client = new Client({ name: "runner-test", version: "1.0.0" });
await client.connect(transport);
const { tools } = await client.listTools();
const result = await client.callTool({ name: tool, arguments: args });
const text = result.content.filter((c) => c.type === "text").map((c) => c.text).join("\n");
console.log(JSON.stringify({ tools: tools.map((t) => t.name), call: { is_error: !!result.isError, text } }));
await client.close();
