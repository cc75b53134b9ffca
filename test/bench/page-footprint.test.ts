import { expect, test } from "bun:test";
import { referencedPagesOf } from "../../bench/support/page-footprint.ts";

const SMAPS = `7f0000000000-7f0040000000 rwxp 00000000 00:00 0
Size:            1048576 kB
Referenced:         2104 kB
AnonHugePages:      2048 kB
VmFlags: rd wr ex mr mw me dc nr hg
01a40000-06836000 r-xp 01838000 fe:00 5317329                            /usr/bin/bun
Referenced:          400 kB
AnonHugePages:         0 kB
5ea31a00000-5ea71a00000 rw-p 00000000 00:00 0
Referenced:           40 kB
AnonHugePages:         0 kB
`;

test("a referenced 2 MiB page counts once, 4 KiB pages each", () => {
  // code: one huge page + 56 kB of small pages in the JIT region, 100 pages of text
  expect(referencedPagesOf(SMAPS, "test")).toEqual({ code: 1 + 14 + 100, data: 10 });
});

test("an unreadable smaps line is an error, not a zero", () => {
  expect(() => referencedPagesOf(SMAPS.replace("40 kB", "x kB"), "test")).toThrow("test: unreadable line");
});
