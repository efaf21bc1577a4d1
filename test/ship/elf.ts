/**
 * Just enough of an ELF header to tell which machine a binary is for and which dynamic loader
 * (PT_INTERP) it asks for — what `file(1)` prints, without depending on it.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** e_machine values (elf.h). */
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

export interface ElfFacts {
  /** e_machine: EM_X86_64, EM_AARCH64, … */
  machine: number;
  /** The loader's path from PT_INTERP, or null for a static binary. */
  interpreter: string | null;
}

/**
 * Reads a 64-bit little-endian ELF file's machine and interpreter. Relies on the ELF64 layout:
 * e_machine at 18, e_phoff at 32, e_phentsize at 54, e_phnum at 56; in a program header p_type at
 * 0 (PT_INTERP = 3), p_offset at 8, p_filesz at 32. Throws on anything that is not ELF64 LE.
 */
export function elfFacts(path: string): ElfFacts {
  // Headers and the interpreter's name sit in the first page; a binary is ~100 MiB.
  const bytes = Buffer.alloc(64 * 1024);
  const fd = openSync(path, "r");
  try {
    readSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.subarray(0, 4).toString("latin1") !== "\x7fELF" || bytes[4] !== 2 || bytes[5] !== 1) throw new Error(`${path} is not a 64-bit little-endian ELF file`);
  const machine = view.getUint16(18, true);
  const phoff = Number(view.getBigUint64(32, true));
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (view.getUint32(ph, true) !== 3) continue;
    const offset = Number(view.getBigUint64(ph + 8, true));
    const size = Number(view.getBigUint64(ph + 32, true));
    return {
      machine,
      interpreter: bytes
        .subarray(offset, offset + size)
        .toString("latin1")
        .replace(/\0+$/, ""),
    };
  }
  return { machine, interpreter: null };
}
