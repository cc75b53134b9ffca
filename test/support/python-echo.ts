/**
 * Python asyncio programs for many-connection checks (the e2e test and docker-test): an echo
 * server, and a client that opens `n` connections at once, sends a line on each and prints how
 * many came back intact.
 */
import { chmodSync, writeFileSync } from "node:fs";

/** An asyncio echo server on 0.0.0.0:port (backlog 1024), written to `path` (world-readable). */
export function writeEchoServer(path: string, port: number): void {
  writeFileSync(path, [
    "import asyncio",
    "async def echo(r, w):",
    "    while data := await r.read(65536):",
    "        w.write(data)",
    "        await w.drain()",
    "    w.close()",
    "async def main():",
    `    s = await asyncio.start_server(echo, '0.0.0.0', ${port}, backlog=1024)`,
    "    async with s:",
    "        await s.serve_forever()",
    "asyncio.run(main())",
    "",
  ].join("\n"));
  chmodSync(path, 0o644);
}

/** A client making `n` concurrent connections to host:port; prints the count echoed intact. */
export function writeEchoClients(path: string, host: string, port: number, n: number): void {
  writeFileSync(path, [
    "import asyncio",
    "async def one(i):",
    `    r, w = await asyncio.open_connection('${host}', ${port})`,
    "    msg = (f'client {i:05d} ' * 20 + '\\n').encode()",
    "    w.write(msg)",
    "    await w.drain()",
    "    got = await r.readexactly(len(msg))",
    "    w.close()",
    "    return got == msg",
    "async def main():",
    `    print(sum(await asyncio.gather(*(one(i) for i in range(${n})))))`,
    "asyncio.run(main())",
    "",
  ].join("\n"));
  chmodSync(path, 0o644);
}
