/**
 * A static x86-64 Linux program of 136 bytes that makes one i386 system call (`int 0x80`,
 * getpid) and then exits 0 through the native ABI: under a seccomp filter that names
 * x86-64 alone, the kernel kills it with SIGSYS instead (exit status 159). Made here,
 * byte by byte, so the test needs no compiler and no 32-bit libraries.
 */
const LOAD_ADDRESS = 0x400000;
const ELF_HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;

/** mov eax, 20; int 0x80; mov eax, 60; xor edi, edi; syscall */
const CODE = Buffer.from("b814000000cd80b83c00000031ff0f05", "hex");

export function i386SyscallProbe(): Buffer {
  const codeAt = ELF_HEADER_SIZE + PROGRAM_HEADER_SIZE;
  const size = codeAt + CODE.length;
  const elf = Buffer.alloc(codeAt);
  elf.write("\x7fELF", 0, "latin1");
  elf.writeUInt8(2, 4); // 64-bit
  elf.writeUInt8(1, 5); // little-endian
  elf.writeUInt8(1, 6); // ELF version 1
  elf.writeUInt16LE(2, 16); // executable
  elf.writeUInt16LE(0x3e, 18); // x86-64
  elf.writeUInt32LE(1, 20);
  elf.writeBigUInt64LE(BigInt(LOAD_ADDRESS + codeAt), 24); // entry
  elf.writeBigUInt64LE(BigInt(ELF_HEADER_SIZE), 32); // program headers
  elf.writeUInt16LE(ELF_HEADER_SIZE, 52);
  elf.writeUInt16LE(PROGRAM_HEADER_SIZE, 54);
  elf.writeUInt16LE(1, 56); // one program header
  const ph = ELF_HEADER_SIZE;
  elf.writeUInt32LE(1, ph); // PT_LOAD
  elf.writeUInt32LE(5, ph + 4); // readable, executable
  elf.writeBigUInt64LE(0n, ph + 8); // from the file's start
  elf.writeBigUInt64LE(BigInt(LOAD_ADDRESS), ph + 16);
  elf.writeBigUInt64LE(BigInt(LOAD_ADDRESS), ph + 24);
  elf.writeBigUInt64LE(BigInt(size), ph + 32);
  elf.writeBigUInt64LE(BigInt(size), ph + 40);
  elf.writeBigUInt64LE(0x1000n, ph + 48);
  return Buffer.concat([elf, CODE]);
}
