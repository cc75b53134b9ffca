/**
 * Kernel-side peer for kernel tests, run inside the test namespace (`ip netns exec NS bun
 * kernel-peer.ts ...`), so its sockets are the Linux kernel's TCP:
 *   echo-server HOST PORT            echo every connection (half-close aware); prints "ready"
 *   clients HOST PORT N BYTES        N concurrent connections each send BYTES, half-close, and
 *                                    check the echo; prints one JSON line {ok, failed, errors}
 *   udp-burst HOST PORT N            N UDP datagrams of sizes 1 + (i * 97) % 1472, in bursts of 50
 */
import { createConnection } from "node:net";

function pattern(i: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = (i * 2654435761) >>> 0 || 1;
  for (let k = 0; k < n; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[k] = x & 255;
  }
  return b;
}

const [mode, host, portS, nS, bytesS] = process.argv.slice(2);
const port = Number(portS);

if (mode === "echo-server") {
  // Bun.listen, then listen() again through libc: Linux lets a second listen() raise the backlog,
  // which Bun fixes at 512 (too few for 1,000 simultaneous SYNs without falling back to cookies).
  interface Conn {
    pending: Uint8Array[];
    eof: boolean;
  }
  const flush = (s: Bun.Socket<Conn>) => {
    const q = s.data.pending;
    while (q.length > 0) {
      const head = q[0]!;
      const n = s.write(head);
      if (n < head.length) {
        q[0] = head.subarray(n);
        return;
      }
      q.shift();
    }
    if (s.data.eof) s.end();
  };
  const l = Bun.listen<Conn>({
    hostname: host!,
    port,
    allowHalfOpen: true,
    socket: {
      open: (s) => {
        s.data = { pending: [], eof: false };
      },
      data: (s, d) => {
        s.data.pending.push(new Uint8Array(d));
        flush(s);
      },
      drain: (s) => flush(s),
      end: (s) => {
        s.data.eof = true;
        flush(s);
      },
      error: (s) => s.terminate(),
    },
  });
  const fd = (l as unknown as { fd?: number }).fd;
  if (typeof fd === "number") {
    const { dlopen, FFIType } = await import("bun:ffi");
    dlopen("libc.so.6", { listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } }).symbols.listen(fd, 4096);
  }
  console.log("ready");
} else if (mode === "udp-burst") {
  const { createSocket } = await import("node:dgram");
  const sock = createSocket("udp4");
  const n = Number(nS);
  const buf = new Uint8Array(1472).fill(0x5a);
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve) => sock.send(buf.subarray(0, 1 + ((i * 97) % 1472)), port, host, () => resolve()));
    if (i % 50 === 49) await Bun.sleep(1);
  }
  sock.close();
  console.log("sent");
} else if (mode === "clients") {
  const n = Number(nS);
  const bytes = Number(bytesS);
  let ok = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  let pending = n;
  const done = () => {
    if (--pending === 0) {
      console.log(JSON.stringify({ ok, failed, errors }));
      process.exit(0);
    }
  };
  for (let i = 0; i < n; i++) {
    const want = pattern(i, bytes);
    const got = new Uint8Array(bytes);
    let off = 0;
    let bad = false;
    let finished = false;
    const s = createConnection({ host, port, allowHalfOpen: true });
    const finish = (err: string | null) => {
      if (finished) return;
      finished = true;
      if (err === null && !bad && off === bytes && Buffer.compare(Buffer.from(got), Buffer.from(want)) === 0) ok++;
      else {
        failed++;
        const k = err ?? (bad ? "overflow" : `short:${off}`);
        errors[k] = (errors[k] ?? 0) + 1;
      }
      s.destroy();
      done();
    };
    s.on("connect", () => s.end(want));
    s.on("data", (d: Buffer) => {
      if (off + d.length > bytes) bad = true;
      else got.set(d, off);
      off += d.length;
    });
    s.on("end", () => finish(null));
    s.on("error", (e: Error & { code?: string }) => finish(e.code ?? e.message));
  }
  setTimeout(() => {
    console.log(JSON.stringify({ ok, failed: failed + pending, errors: { ...errors, timeout: pending } }));
    process.exit(1);
  }, 60_000).unref();
}
