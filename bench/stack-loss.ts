#!/usr/bin/env bun
/**
 * Our TCP sender against the Linux kernel's on the same lossy path (root): our stack on a tap in a
 * namespace, the kernel on the other side, and the same random loss applied to both directions
 * inside the link (FaultLink between the tap and our stack), so both senders lose segments and
 * ACKs on the wire alike. (The nftables rule of test/stack/kernel-faults.test.ts drops the
 * kernel's segments at its own output hook, which its TCP learns of at once: a local drop, not a
 * congestion signal, so that test is no fair reference for the kernel's sender.)
 * Each sender runs with CUBIC and with BBR (the kernel's default on these machines; it does not
 * treat random loss as congestion), so each of ours has the kernel's same algorithm to compare
 * with, and the kernel's default as well. Prints MiB/s, ratios and our sender's recovery
 * counters; every transfer is sha256-checked.
 * LOSS_MB sets the size (default 32 MiB; our sender is slow under loss).
 */
import { ipv4ToString } from "../src/stack/link.ts";
import { attachStack, createKernelNet } from "../test/stack/kernel-harness.ts";
import { clientExchange, hashingServer, sha256 } from "../test/stack/stack-apps.ts";
import { netnsPossible } from "../test/e2e/netns-lab.ts";
import { waitForTcpListener } from "../test/support/tcp-listener.ts";

const MB = Number(process.env.LOSS_MB ?? 32);
if (!Number.isInteger(MB) || MB <= 0 || MB > 1024) {
  console.error("stack-loss: LOSS_MB must be an integer from 1 to 1024");
  process.exit(2);
}
const BUF = 4 << 20;

if (!netnsPossible()) {
  console.log("stack-loss: needs root and ip netns; skipped");
  process.exit(0);
}

/** The kernel's sender, python with TCP_CONGESTION set per socket (root may pick one outside the allowed list). */
const SENDER = [
  "import socket, sys",
  "s = socket.socket()",
  "s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, sys.argv[1].encode())",
  "s.connect((sys.argv[2], int(sys.argv[3])))",
  "s.sendfile(open(sys.argv[4], 'rb'))",
  "s.shutdown(socket.SHUT_WR)",
  "s.recv(1)",
].join("\n");

/**
 * The paths: 1% and 5% loss on the LAN (no added delay) with 4 MiB buffers on our side, then 1% on
 * a 20 ms round trip with every buffer autotuned (ours from 256 KB, the kernel's from tcp_rmem), as
 * a download over the internet would see it.
 */
const PATHS = [
  { loss: 1, delayMs: 0, fixedBuffers: true },
  { loss: 5, delayMs: 0, fixedBuffers: true },
  { loss: 1, delayMs: 10, fixedBuffers: false },
];
for (const { loss, delayMs, fixedBuffers } of PATHS) {
  const net = await createKernelNet({ mtu: 1500 });
  const bufs = fixedBuffers ? { recvBufferSize: BUF, sendBufferSize: BUF } : {};
  const att = attachStack(net, { tcp: bufs }, { lossPct: loss, delayMs }, 7);
  const path = `${loss}% each way` + (delayMs === 0 ? "" : `, ${2 * delayMs} ms RTT, autotuned buffers`);
  try {
    const file = `/tmp/${net.ns}.data`;
    await net.exec(["sh", "-c", `head -c ${MB}M /dev/urandom > ${file}`]);
    const want = (await net.exec(["sh", "-c", `sha256sum < ${file}`])).stdout.split(" ")[0];
    // the kernel sends to us, with its default congestion control, CUBIC and BBR
    const defaultCc = (await net.exec(["sysctl", "-n", "net.ipv4.tcp_congestion_control"])).stdout.trim();
    const kernel: Record<string, number> = {};
    const kernelCcs = [...new Set([defaultCc, "cubic", "bbr"])];
    for (const [i, cc] of kernelCcs.entries()) {
      const port = 5001 + 2 * i;
      const srv = hashingServer(att.stack, port);
      const t = performance.now();
      await net.exec(["python3", "-c", SENDER, cc, ipv4ToString(net.stackIp), String(port), file], { timeoutMs: 600_000 });
      const got = await srv.results[0]!;
      kernel[cc] = MB / ((performance.now() - t) / 1000);
      srv.close();
      if (got.sha256 !== want) throw new Error("kernel → stack: data corrupted");
    }
    console.log(`stack-loss ${path} (FaultLink), ${MB} MiB: the kernel's sender ${kernelCcs.map((cc) => `${kernel[cc]!.toFixed(1)} MiB/s (${cc})`).join(", ")}; ${defaultCc} is this machine's default`);
    // we send to the kernel, with each of our congestion controls
    const data = (await Bun.file(file).bytes()).subarray(0, MB << 20);
    const kip = ipv4ToString(net.kernelIp);
    for (const [ours, port] of [["cubic", 5102], ["bbr", 5104]] as const) {
      const p = net.spawn(["sh", "-c", `nc -l ${kip} ${port} | sha256sum`]);
      await waitForTcpListener(net.ns, port);
      const before = { ...att.stack.tcp.stats };
      const t0 = performance.now();
      const r = await clientExchange(att.stack, net.kernelIp, port, data, { ...bufs, congestion: ours });
      const out = await new Response(p.stdout).text();
      const oursMiBs = MB / ((performance.now() - t0) / 1000);
      if (r.error !== null || out.split(" ")[0] !== sha256(data)) throw new Error(`stack → kernel (${ours}): data corrupted`);
      const s = att.stack.tcp.stats;
      const same = kernel[ours];
      console.log(
        `stack-loss ${path}: ours (${ours}) ${oursMiBs.toFixed(1)} MiB/s: ` +
          (same !== undefined ? `ratio ${(oursMiBs / same).toFixed(2)} to the kernel's ${ours}, ` : "") +
          `${(oursMiBs / kernel[defaultCc]!).toFixed(2)} to its default (${defaultCc}); ${s.fastRetransmits - before.fastRetransmits} fast retransmits, ` +
          `${s.retransmits - before.retransmits} retransmissions, ${s.tailLossProbes - before.tailLossProbes} loss probes, ${s.rtoTimeouts - before.rtoTimeouts} RTOs`,
      );
    }
    await net.exec(["rm", "-f", file], { allowFail: true });
  } finally {
    att.stop();
    await net.close();
  }
}
