#!/usr/bin/env bun
/**
 * Stack <-> Linux kernel over a tap (in a private network namespace): TCP bulk throughput each way
 * at MTU 1500 and 2800 (ZeroTier's default), CPU seconds per GB of this process (main thread and
 * tap reader worker; the kernel-side nc is not counted), ping RTT, and iperf3 (kernel client against
 * our iperf3-protocol server) when iperf3 is installed. Needs root; prints
 * "skipped" otherwise. Target (issue 6): >= 150 MB/s over the tap at MTU 2800.
 */
import { ipv4ToString } from "../src/stack/link.ts";
import type { NetStack } from "../src/stack/stack.ts";
import type { TcpSocket } from "../src/stack/tcp/index.ts";
import { attachStack, createKernelNet, kernelTestsPossible, type KernelNet } from "../test/stack/kernel-harness.ts";
import { Iperf3Server } from "../test/stack/iperf3-server.ts";

const MB = Number(process.env.STACK_TAP_MB ?? 400);
const TARGET_MBPS = 150;

/** Receive everything on `port` until FIN; resolves with the byte count. */
function sinkServer(stack: NetStack, port: number): Promise<number> {
  return new Promise((resolve) => {
    const l = stack.listen(port, {
      recvBufferSize: 4 << 20,
      handler: {
        onAcceptable: (l) => {
          const s = l.accept();
          if (s === null) return;
          let n = 0;
          s.handler = {
            onReadable: (x) => {
              const k = x.readableLength;
              n += k;
              x.consume(k);
              if (x.peerClosed) {
                x.close();
                l.close();
                resolve(n);
              }
            },
          };
        },
      },
    });
  });
}

/** Connect and queue `total` bytes (a repeated 1 MiB pattern), then close; resolves once all is queued. */
function pushClient(stack: NetStack, addr: number, port: number, total: number): Promise<void> {
  const chunk = new Uint8Array(1 << 20).map((_, i) => i * 31);
  return new Promise((resolve, reject) => {
    let sent = 0;
    const push = (s: TcpSocket) => {
      while (sent < total && s.writableLength > 0) {
        const off = sent % chunk.length;
        sent += s.send(chunk, off, Math.min(chunk.length, off + (total - sent)));
      }
      stack.kick();
      if (sent >= total) {
        // Done when the kernel has counted every byte (our socket then lingers in TIME_WAIT).
        s.handler = { onError: (_x, e) => reject(new Error(e)) };
        s.close();
        stack.kick();
        resolve();
      }
    };
    stack.connect(addr, port, { sendBufferSize: 4 << 20, handler: { onConnect: push, onWritable: push, onError: (_s, e) => reject(new Error(e)) } });
  });
}

async function measure(net: KernelNet, stack: NetStack): Promise<{ rx: number; tx: number; rxCpu: number; txCpu: number }> {
  const ip = ipv4ToString(net.stackIp);
  const kip = ipv4ToString(net.kernelIp);
  const bytes = MB << 20;

  // kernel -> stack
  const got = sinkServer(stack, 5001);
  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  await net.exec(["sh", "-c", `head -c ${bytes} /dev/zero | nc -N ${ip} 5001`], { timeoutMs: 120_000 });
  const n = await got;
  let dt = (performance.now() - t0) / 1000;
  let c = process.cpuUsage(cpu0);
  if (n !== bytes) throw new Error(`received ${n} of ${bytes}`);
  const rx = bytes / 1e6 / dt;
  const rxCpu = (c.user + c.system) / 1e6 / (bytes / 1e9);

  // stack -> kernel
  const p = net.spawn(["sh", "-c", `nc -l ${kip} 5002 | wc -c`]);
  await Bun.sleep(150);
  cpu0 = process.cpuUsage();
  t0 = performance.now();
  await pushClient(stack, net.kernelIp, 5002, bytes);
  const counted = Number((await new Response(p.stdout).text()).trim());
  dt = (performance.now() - t0) / 1000;
  c = process.cpuUsage(cpu0);
  if (counted !== bytes) throw new Error(`kernel counted ${counted} of ${bytes}`);
  return { rx, tx: bytes / 1e6 / dt, rxCpu, txCpu: (c.user + c.system) / 1e6 / (bytes / 1e9) };
}

if (!kernelTestsPossible()) {
  console.log("stack-tap: skipped (needs root, ip netns and /dev/net/tun)");
  process.exit(0);
}

for (const mtu of [1500, 2800]) {
  const net = await createKernelNet({ mtu });
  const att = attachStack(net, { tcp: { recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 } });
  try {
    const ping = await net.exec(["ping", "-c", "20", "-i", "0.01", ipv4ToString(net.stackIp)]);
    const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(ping.stdout);
    const r = await measure(net, att.stack);
    const mark = (v: number) => (mtu === 2800 ? (v >= TARGET_MBPS ? " (target met)" : ` (target ${TARGET_MBPS})`) : "");
    console.log(`MTU ${mtu}: kernel -> stack ${r.rx.toFixed(0)} MB/s${mark(r.rx)}, ${r.rxCpu.toFixed(2)} CPU s/GB`);
    console.log(`MTU ${mtu}: stack -> kernel ${r.tx.toFixed(0)} MB/s${mark(r.tx)}, ${r.txCpu.toFixed(2)} CPU s/GB`);
    console.log(`MTU ${mtu}: ping rtt min/avg/max ${rtt?.[1]}/${rtt?.[2]}/${rtt?.[3]} ms`);
    if (Bun.which("iperf3") !== null) {
      const srv = new Iperf3Server(att.stack);
      for (const rev of [false, true]) {
        const r = await net.exec(["iperf3", "-c", ipv4ToString(net.stackIp), "-t", "3", "-J", ...(rev ? ["-R"] : [])], { allowFail: true, timeoutMs: 30_000 });
        const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } };
        const bps = j.end?.sum_received?.bits_per_second ?? 0;
        console.log(`MTU ${mtu}: iperf3 ${rev ? "stack -> kernel (-R)" : "kernel -> stack"} ${(bps / 8e6).toFixed(0)} MB/s`);
      }
      srv.close();
    }
  } finally {
    att.stop();
    await net.close();
  }
}
process.exit(0);
