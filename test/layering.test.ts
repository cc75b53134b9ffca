/**
 * The layering of src/ (ARCHITECTURE.md: arrows point down, netcon → stack → (port) → vl2 → vl1 →
 * crypto): which top-level directories each one may import from, and no cycle between directories
 * (a cycle means two layers that cannot be tested or understood apart).
 */
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const SRC = join(import.meta.dir, "..", "src");

/** Directories each layer must never import from. */
const FORBIDDEN: Record<string, readonly string[]> = {
  util: ["crypto", "vl1", "vl2", "port", "stack", "netcon", "controller", "service", "transport", "cli", "tools"],
  crypto: ["vl1", "vl2", "port", "stack", "netcon", "controller", "service", "transport", "cli", "tools"],
  vl1: ["vl2", "port", "stack", "netcon", "controller", "service", "transport", "cli", "tools"],
  vl2: ["port", "stack", "netcon", "controller", "service", "transport", "cli", "tools"],
  stack: ["vl1", "vl2", "port", "netcon", "controller", "service", "transport", "cli", "tools"],
  controller: ["port", "stack", "netcon", "service", "transport", "cli", "tools"],
  port: ["netcon", "controller", "service", "cli", "tools"],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Directory-level import edges "from -> to" with one example file each. */
function edges(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sources(SRC)) {
    const text = readFileSync(file, "utf8");
    const from = relative(SRC, file).split("/")[0]!;
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const target = relative(SRC, normalize(join(dirname(file), m[1]!)));
      if (target.startsWith("..")) continue; // ffi/ and other top-level folders
      const parts = target.split("/");
      if (parts.length < 2) continue; // src/version.ts
      const to = parts[0]!;
      if (to !== from && !found.has(`${from} -> ${to}`)) found.set(`${from} -> ${to}`, relative(SRC, file));
    }
  }
  return found;
}

test("no layer imports from a layer above it", () => {
  const bad: string[] = [];
  for (const [edge, file] of edges()) {
    const [from, to] = edge.split(" -> ") as [string, string];
    if (FORBIDDEN[from]?.includes(to)) bad.push(`${edge} (${file})`);
  }
  expect(bad).toEqual([]);
});

test("no import cycle between top-level directories", () => {
  const graph = new Map<string, Set<string>>();
  for (const edge of edges().keys()) {
    const [from, to] = edge.split(" -> ") as [string, string];
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): void => {
    state.set(n, "open");
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === "open") cycles.push([...path.slice(path.indexOf(m)), m].join(" -> "));
      else if (state.get(m) === undefined) visit(m);
    }
    path.pop();
    state.set(n, "done");
  };
  for (const n of graph.keys()) if (state.get(n) === undefined) visit(n);
  expect(cycles).toEqual([]);
});
