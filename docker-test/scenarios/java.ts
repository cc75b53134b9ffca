/**
 * java: a `com.sun.net.httpserver` server inside and `java.net.http.HttpClient` (NIO, nonblocking
 * connect, a selector thread) outside fetching 200 requests; then the reverse (server outside,
 * HttpClient inside). Every body is compared byte for byte with what the server generates.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Scenario, ScenarioContext } from "../scenario.ts";

const REQUESTS = 200;
const BODY_BYTES = 65_536 + 123;

// One class, two modes: `serve HOST PORT` (prints "listening" once bound) and `fetch URL N`
// (N sequential GETs over one HttpClient, each body compared with the expected bytes; prints "ok").
const SOURCE = `
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;

public class ZtWeb {
  static byte[] body() {
    byte[] b = new byte[${BODY_BYTES}];
    for (int i = 0; i < b.length; i++) b[i] = (byte) ((i * 31 + 7) % 251);
    return b;
  }
  public static void main(String[] a) throws Exception {
    byte[] expected = body();
    if (a[0].equals("serve")) {
      HttpServer s = HttpServer.create(new InetSocketAddress(a[1], Integer.parseInt(a[2])), 64);
      s.createContext("/", ex -> {
        ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
        ex.sendResponseHeaders(200, expected.length);
        ex.getResponseBody().write(expected);
        ex.close();
      });
      s.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
      s.start();
      System.out.println("listening " + s.getAddress());
      System.out.flush();
    } else {
      int n = Integer.parseInt(a[2]);
      HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        HttpRequest r = HttpRequest.newBuilder(URI.create(a[1] + "?i=" + i)).timeout(Duration.ofSeconds(10)).build();
        HttpResponse<byte[]> res = c.send(r, HttpResponse.BodyHandlers.ofByteArray());
        if (res.statusCode() != 200) { System.err.println("request " + i + ": HTTP " + res.statusCode()); System.exit(2); }
        if (!Arrays.equals(res.body(), expected)) { System.err.println("request " + i + ": body of " + res.body().length + " bytes differs from the expected " + expected.length); System.exit(3); }
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      System.out.println("ok " + n + " " + ms);
    }
  }
}
`;

async function waitLog(ctx: ScenarioContext, file: string, re: RegExp, what: string): Promise<void> {
  await ctx.waitFor(what, async () => (existsSync(file) && re.test(readFileSync(file, "utf8")) ? true : null), 30_000);
}

function parseOk(out: string, side: string): number {
  const m = /^ok (\d+) (\d+)$/m.exec(out);
  if (m === null || Number(m[1]) !== REQUESTS) throw new Error(`${side} HttpClient did not report ${REQUESTS} good responses: ${out.trim().slice(-200)}`);
  return Number(m[2]);
}

export const javaScenario: Scenario = {
  name: "java",
  needs: ["java", "javac"],
  async run(ctx) {
    const src = join(ctx.dir, "java-src");
    await ctx.outside(["mkdir", "-p", src]);
    writeFileSync(join(src, "ZtWeb.java"), SOURCE);
    await ctx.outside(["javac", "-d", src, join(src, "ZtWeb.java")], { timeoutMs: 120_000 });
    for (const f of ["", "ZtWeb.class"]) chmodSync(join(src, f), f === "" ? 0o755 : 0o644);
    const jvm = ["java", "-XX:-UsePerfData", "-cp", src, "ZtWeb"];

    // 1. server inside, HttpClient outside
    const inPort = 18080;
    const server = ctx.spawnInside("server", [...jvm, "serve", "0.0.0.0", String(inPort)]);
    let inMs = 0;
    try {
      await waitLog(ctx, join(ctx.dir, "java-server.log"), /^listening/m, "the java server inside listening");
      const r = await ctx.outside([...jvm, "fetch", `http://${ctx.insideIp}:${inPort}/x`, String(REQUESTS)], { timeoutMs: 120_000, allowFail: true });
      if (r.code !== 0) throw new Error(`outside HttpClient → inside HttpServer: exit ${r.code}: ${r.err.trim().slice(-300)}`);
      inMs = parseOk(r.out, "outside");
    } finally {
      server.kill();
      await server.exited;
    }

    // 2. server outside, HttpClient inside
    const outPort = 18081;
    const server2 = ctx.spawnOutside("server-outside", [...jvm, "serve", ctx.outsideIp, String(outPort)]);
    let outMs = 0;
    try {
      await waitLog(ctx, join(ctx.dir, "java-server-outside.log"), /^listening/m, "the java server outside listening");
      const r = await ctx.inside([...jvm, "fetch", `http://${ctx.outsideIp}:${outPort}/y`, String(REQUESTS)], { timeoutMs: 120_000, allowFail: true });
      if (r.code !== 0) throw new Error(`inside HttpClient → outside HttpServer: exit ${r.code}: ${r.err.trim().slice(-300)}`);
      outMs = parseOk(r.out, "inside");
    } finally {
      server2.kill();
      await server2.exited;
    }
    const rate = (ms: number): string => `${Math.round((REQUESTS * 1000) / Math.max(ms, 1))} req/s`;
    return `${REQUESTS}×${BODY_BYTES} B intact both ways; server inside ${rate(inMs)}, client inside ${rate(outMs)}`;
  },
};
