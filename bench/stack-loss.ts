#!/usr/bin/env bun
/**
 * Our TCP sender against the Linux kernel's on the same lossy path (root): our stack on a tap in a
 * namespace, the kernel on the other side, and the same random loss applied to both directions
 * inside the link (FaultLink between the tap and our stack), so both senders lose segments and
 * ACKs on the wire alike. (The nftables rule of test/stack/kernel-faults.test.ts drops the
 * kernel's segments at its own output hook, which its TCP learns of at once: a local drop, not a
 * congestion signal, so that test is no fair reference for the kernel's sender.)
 * Prints MiB/s each way and our sender's recovery counters; every transfer is sha256-checked.
 * LOSS_MB sets the size (default 32 MiB; our sender is slow under loss).
 */
import { ipv4ToString } from "../src/stack/link.ts";
import { attachStack, createKernelNet } from "../test/stack/kernel-harness.ts";
import { clientExchange, hashingServer, sha256 } from "../test/stack/stack-apps.ts";
import { netnsPossible } from "../test/e2e/netns-lab.ts";
import { waitForTcpListener } from "../test/support/tcp-listener.ts";

const MB = Number(process.env.LOSS_MB ?? 32);
const BUF = 4 << 20;

if (!netnsPossible()) {
  console.log("stack-loss: needs root and ip netns; skipped");
  process.exit(0);
}

for (const loss of [1, 5]) {
  const net = await createKernelNet({ mtu: 1500 });
  const att = attachStack(net, { tcp: { recvBufferSize: BUF, sendBufferSize: BUF } }, { lossPct: loss }, 7);
  try {
    const file = `/tmp/${net.ns}.data`;
    await net.exec(["sh", "-c", `head -c ${MB}M /dev/urandom > ${file}`]);
    const want = (await net.exec(["sh", "-c", `sha256sum < ${file}`])).stdout.split(" ")[0];
    // the kernel sends to us
    const srv = hashingServer(att.stack, 5001);
    let t0 = performance.now();
    await net.exec(["sh", "-c", `nc -N ${ipv4ToString(net.stackIp)} 5001 < ${file}`], { timeoutMs: 600_000 });
    const got = await srv.results[0]!;
    const kernelMiBs = MB / ((performance.now() - t0) / 1000);
    srv.close();
    if (got.sha256 !== want) throw new Error("kernel → stack: data corrupted");
    // we send to the kernel
    const data = (await Bun.file(file).bytes()).subarray(0, MB << 20);
    const kip = ipv4ToString(net.kernelIp);
    const p = net.spawn(["sh", "-c", `nc -l ${kip} 5002 | sha256sum`]);
    await waitForTcpListener(net.ns, 5002);
    const before = { ...att.stack.tcp.stats };
    t0 = performance.now();
    const r = await clientExchange(att.stack, net.kernelIp, 5002, data, { recvBufferSize: BUF, sendBufferSize: BUF });
    const out = await new Response(p.stdout).text();
    const oursMiBs = MB / ((performance.now() - t0) / 1000);
    if (r.error !== null || out.split(" ")[0] !== sha256(data)) throw new Error("stack → kernel: data corrupted");
    const s = att.stack.tcp.stats;
    console.log(
      `stack-loss ${loss}% each way (FaultLink), ${MB} MiB: kernel's sender ${kernelMiBs.toFixed(1)} MiB/s, ours ${oursMiBs.toFixed(1)} MiB/s ` +
        `(ratio ${(oursMiBs / kernelMiBs).toFixed(2)}); ours: ${s.fastRetransmits - before.fastRetransmits} fast retransmits, ` +
        `${s.tailLossProbes - before.tailLossProbes} loss probes, ${s.rtoTimeouts - before.rtoTimeouts} RTOs, ${s.lostRetransmits - before.lostRetransmits} lost retransmissions`,
    );
    await net.exec(["rm", "-f", file], { allowFail: true });
  } finally {
    att.stop();
    await net.close();
  }
}
