/** A jitdump image: the 40-byte header, then one code-load record per (address, size, name). */
export function jitDumpImage(loads: [bigint, bigint, string][], truncateLast = false): Uint8Array {
  const parts: Uint8Array[] = [];
  const header = new Uint8Array(40);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, 0x4a695444, true);
  hv.setUint32(4, 1, true);
  hv.setUint32(8, 40, true);
  parts.push(header);
  loads.forEach(([addr, size, name], i) => {
    const nameBytes = new TextEncoder().encode(`${name}\0`);
    const rec = new Uint8Array(56 + nameBytes.length + Number(size));
    const v = new DataView(rec.buffer);
    v.setUint32(0, 0, true);
    v.setUint32(4, rec.length, true);
    v.setBigUint64(24, addr, true); // vma
    v.setBigUint64(32, addr, true); // code_addr
    v.setBigUint64(40, size, true);
    v.setBigUint64(48, BigInt(i), true);
    rec.set(nameBytes, 56);
    parts.push(truncateLast && i === loads.length - 1 ? rec.subarray(0, 30) : rec);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
