/**
 * ELF64 little-endian reader: load segments, GNU build-id and function symbols.
 *
 * tsprof runs as root and opens whatever binaries other processes map, so this
 * file treats its input as hostile. Every offset and size is checked against
 * the file size before it is read, tables are capped, and every loop is bounded
 * by a count derived from checked sizes. It reads with positional reads on a
 * descriptor and touches only the headers, the two symbol tables with their
 * string tables, and the notes; never the whole file.
 *
 * Errors: `readElf` and `readElfFile` throw {@link ElfError} for a file they
 * cannot use (with a `code` to bucket by); they keep no counters themselves.
 * Callers count the errors they catch. Individual symbols that are unusable
 * (a name outside its string table, an address past 2^53) are skipped and
 * counted in {@link ElfImage.skippedSymbols} instead of failing the file.
 */
import fs from "node:fs";
import { PackedSymbols, SymbolTable } from "./symbol-table.js";

/** Why an ELF file was rejected; lets callers count failures by kind. */
export type ElfErrorCode =
	/** open, stat or read failed. */
	| "io"
	/** not an ELF file (bad magic), or not a regular file. */
	| "not-elf"
	/** an ELF flavour this reader does not handle (ELF32, big-endian). */
	| "unsupported"
	/** the file ends before a structure it declares. */
	| "truncated"
	/** a structure is inconsistent (wrong entry size, link out of range). */
	| "malformed"
	/** a table is larger than the sane caps below. */
	| "too-large";

/** A file that cannot be read as an ELF64 little-endian image. */
export class ElfError extends Error {
	readonly code: ElfErrorCode;
	constructor(code: ElfErrorCode, message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = "ElfError";
		this.code = code;
	}
}

/** A PT_LOAD program header: how a range of the file is placed in memory. */
export interface LoadSegment {
	readonly offset: number;
	readonly vaddr: number;
	readonly filesz: number;
	readonly memsz: number;
	readonly executable: boolean;
}

/** What tsprof needs from one ELF file. */
export interface ElfImage {
	/** ET_EXEC, ET_DYN (PIE executables and shared objects), or anything else. */
	readonly type: "exec" | "dyn" | "other";
	/** e_machine, e.g. 62 for x86-64. */
	readonly machine: number;
	/** Lowercase hex of the NT_GNU_BUILD_ID note, when there is one. */
	readonly buildId?: string;
	readonly loads: readonly LoadSegment[];
	/** Function symbols from .symtab and .dynsym, by link-time virtual address. */
	readonly symbols: SymbolTable;
	/** Function symbols dropped because they were unusable (bad name, address >= 2^53). */
	readonly skippedSymbols: number;
	/** Whether the file keeps a full symbol table (.symtab), not only the dynamic one. */
	readonly hasSymtab: boolean;
	/** `.gnu_debuglink`: the name of the separate debug file and the CRC-32 of its contents. */
	readonly debugLink?: { readonly file: string; readonly crc: number };
	/** `.gnu_debugdata` (MiniDebugInfo): where the xz-compressed ELF of extra symbols lies in the file. */
	readonly debugData?: { readonly offset: number; readonly size: number };
}

// Sane caps. The largest real symbol tables (a browser with full symbols) are
// tens of MiB; anything past these is treated as hostile rather than read.
const MAX_SYMTAB_BYTES = 128 * 1024 * 1024;
const MAX_STRTAB_BYTES = 256 * 1024 * 1024;
const MAX_SECTIONS = 1 << 20;
const MAX_SEGMENTS = 1 << 16;
const MAX_NOTE_BYTES = 1 << 20;
const MAX_NOTE_REGIONS = 64;
const MAX_NAME_BYTES = 64 * 1024;
const MAX_BUILD_ID_BYTES = 64;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;

const ET_EXEC = 2;
const ET_DYN = 3;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PT_GNU_EH_FRAME = 0x6474e550;
const SHF_COMPRESSED = 0x800;
const SHT_NOBITS = 8;
const PF_X = 1;
const PN_XNUM = 0xffff;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const SHF_ALLOC = 2;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;
const NT_GNU_BUILD_ID = 3;

// Marks a 64-bit field that does not fit a JS number exactly. Negative, so
// every "offset >= 0" check rejects it without a special case.
const UNREPRESENTABLE = -1;

function u64(buf: Buffer, off: number): number {
	const lo = buf.readUInt32LE(off);
	const hi = buf.readUInt32LE(off + 4);
	if (hi >= 0x200000) return UNREPRESENTABLE;
	return hi * 0x1_0000_0000 + lo;
}

interface Section {
	/** Offset of the name in the section-name string table. */
	readonly name: number;
	readonly type: number;
	readonly flags: number;
	readonly addr: number;
	readonly offset: number;
	readonly size: number;
	readonly link: number;
	readonly info: number;
	readonly addralign: number;
	readonly entsize: number;
}

/** Positional reads, each checked against the declared file size. */
class Reader {
	readonly #fd: number;
	readonly #bytes: Buffer | undefined;
	readonly fileSize: number;

	/** Reads from `source`: a descriptor, or the whole file already in memory. */
	constructor(source: number | Buffer, fileSize: number) {
		this.#fd = typeof source === "number" ? source : -1;
		this.#bytes = typeof source === "number" ? undefined : source;
		this.fileSize = fileSize;
	}

	fits(pos: number, len: number): boolean {
		return pos >= 0 && len >= 0 && pos <= this.fileSize && len <= this.fileSize - pos;
	}

	read(pos: number, len: number, what: string): Buffer {
		if (!this.fits(pos, len)) throw new ElfError("truncated", `${what} lies outside the file`);
		if (this.#bytes !== undefined) return Buffer.from(this.#bytes.subarray(pos, pos + len));
		const buf = Buffer.alloc(len);
		let done = 0;
		while (done < len) {
			let n: number;
			try {
				n = fs.readSync(this.#fd, buf, done, len - done, pos + done);
			} catch (error) {
				throw new ElfError("io", `cannot read ${what}: ${(error as Error).message}`, { cause: error });
			}
			// The file shrank under us: fileSize was larger than what is there.
			if (n <= 0) throw new ElfError("truncated", `${what}: file ends early`);
			done += n;
		}
		return buf;
	}
}

function parseSection(buf: Buffer, off: number): Section {
	return {
		name: buf.readUInt32LE(off),
		type: buf.readUInt32LE(off + 4),
		flags: u64(buf, off + 8),
		addr: u64(buf, off + 16),
		offset: u64(buf, off + 24),
		size: u64(buf, off + 32),
		link: buf.readUInt32LE(off + 40),
		info: buf.readUInt32LE(off + 44),
		addralign: u64(buf, off + 48),
		entsize: u64(buf, off + 56),
	};
}

function readSectionHeaders(reader: Reader, shoff: number, shnumField: number, shentsize: number): Section[] {
	if (shoff === 0) return [];
	if (shentsize !== SHDR_SIZE) {
		throw new ElfError("malformed", `section header entry size is ${shentsize}, expected ${SHDR_SIZE}`);
	}
	if (!reader.fits(shoff, SHDR_SIZE)) throw new ElfError("truncated", "section header table lies outside the file");
	let shnum = shnumField;
	if (shnum === 0) {
		// Extended numbering: the real count lives in section 0's sh_size.
		const first = parseSection(reader.read(shoff, SHDR_SIZE, "section header 0"), 0);
		shnum = first.size;
		if (shnum === 0) return [];
		if (shnum < 0 || shnum > MAX_SECTIONS) throw new ElfError("too-large", `section count ${shnum} is out of range`);
	}
	if (!reader.fits(shoff, shnum * SHDR_SIZE)) {
		throw new ElfError("truncated", `section header table (${shnum} entries) lies outside the file`);
	}
	const table = reader.read(shoff, shnum * SHDR_SIZE, "section header table");
	const sections: Section[] = new Array(shnum);
	for (let i = 0; i < shnum; i++) sections[i] = parseSection(table, i * SHDR_SIZE);
	return sections;
}

interface ProgramHeaders {
	readonly loads: LoadSegment[];
	readonly notes: { offset: number; size: number; align: number }[];
	/** PT_GNU_EH_FRAME: where .eh_frame_hdr is when section headers are gone. */
	ehFrameHdr?: { offset: number; vaddr: number; size: number };
}

function readProgramHeaders(
	reader: Reader,
	phoff: number,
	phnumField: number,
	phentsize: number,
	sections: readonly Section[],
): ProgramHeaders {
	const result: ProgramHeaders = { loads: [], notes: [] };
	let phnum = phnumField;
	if (phnum === PN_XNUM) {
		// Extended numbering: the real count lives in section 0's sh_info.
		if (sections.length === 0) throw new ElfError("malformed", "PN_XNUM program header count without section 0");
		phnum = sections[0].info;
	}
	if (phnum === 0 || phoff === 0) return result;
	if (phnum > MAX_SEGMENTS) throw new ElfError("too-large", `program header count ${phnum} is out of range`);
	if (phentsize !== PHDR_SIZE) {
		throw new ElfError("malformed", `program header entry size is ${phentsize}, expected ${PHDR_SIZE}`);
	}
	if (!reader.fits(phoff, phnum * PHDR_SIZE)) {
		throw new ElfError("truncated", `program header table (${phnum} entries) lies outside the file`);
	}
	const table = reader.read(phoff, phnum * PHDR_SIZE, "program header table");
	for (let i = 0; i < phnum; i++) {
		const off = i * PHDR_SIZE;
		const type = table.readUInt32LE(off);
		const flags = table.readUInt32LE(off + 4);
		const offset = u64(table, off + 8);
		const vaddr = u64(table, off + 16);
		const filesz = u64(table, off + 32);
		const memsz = u64(table, off + 40);
		const align = u64(table, off + 48);
		if (offset < 0 || vaddr < 0 || filesz < 0 || memsz < 0) continue;
		if (type === PT_LOAD) {
			// Not checked against the file size: the contents are never read, and
			// separate debug files keep program headers whose data was stripped.
			if (offset + filesz > Number.MAX_SAFE_INTEGER || vaddr + memsz > Number.MAX_SAFE_INTEGER) continue;
			result.loads.push({ offset, vaddr, filesz, memsz, executable: (flags & PF_X) !== 0 });
		} else if (type === PT_NOTE) {
			result.notes.push({ offset, size: filesz, align });
		} else if (type === PT_GNU_EH_FRAME && result.ehFrameHdr === undefined) {
			result.ehFrameHdr = { offset, vaddr, size: filesz };
		}
	}
	return result;
}

function alignUp(value: number, align: number): number {
	return Math.ceil(value / align) * align;
}

/** The NT_GNU_BUILD_ID in a block of notes; a malformed note ends the scan. */
function findBuildId(notes: Buffer, alignField: number): string | undefined {
	const align = alignField === 8 ? 8 : 4;
	let pos = 0;
	// Each step advances by at least the 12-byte note header, so this ends.
	while (pos + 12 <= notes.length) {
		const namesz = notes.readUInt32LE(pos);
		const descsz = notes.readUInt32LE(pos + 4);
		const type = notes.readUInt32LE(pos + 8);
		const nameStart = pos + 12;
		const descStart = nameStart + alignUp(namesz, align);
		if (descStart > notes.length || descsz > notes.length - descStart) return undefined;
		if (
			type === NT_GNU_BUILD_ID &&
			namesz === 4 &&
			notes.toString("latin1", nameStart, nameStart + 4) === "GNU\0" &&
			descsz > 0 &&
			descsz <= MAX_BUILD_ID_BYTES
		) {
			return notes.toString("hex", descStart, descStart + descsz);
		}
		pos = descStart + alignUp(descsz, align);
	}
	return undefined;
}

function readBuildId(reader: Reader, program: ProgramHeaders, sections: readonly Section[]): string | undefined {
	// Program headers first: they survive `strip --strip-section-headers`.
	const regions = [
		...program.notes,
		...sections.filter((s) => s.type === SHT_NOTE).map((s) => ({ offset: s.offset, size: s.size, align: s.addralign })),
	].slice(0, MAX_NOTE_REGIONS);
	for (const region of regions) {
		// Notes outside the file (a debug file's stale headers) are skipped, not fatal.
		if (region.size < 12 || region.size > MAX_NOTE_BYTES || !reader.fits(region.offset, region.size)) continue;
		const buildId = findBuildId(reader.read(region.offset, region.size, "note"), region.align);
		if (buildId !== undefined) return buildId;
	}
	return undefined;
}

function sectionBytes(reader: Reader, section: Section, cap: number, what: string): Buffer {
	if (section.offset < 0 || section.size < 0) throw new ElfError("malformed", `${what} offset or size is out of range`);
	if (section.size > cap) throw new ElfError("too-large", `${what} is ${section.size} bytes, over the ${cap}-byte cap`);
	if (!reader.fits(section.offset, section.size)) throw new ElfError("truncated", `${what} lies outside the file`);
	return reader.read(section.offset, section.size, what);
}

/**
 * Finds NUL-terminated names in one string table. Total bytes scanned are
 * budgeted: a table without NULs and many symbols pointing into it would
 * otherwise cost symbols x name-cap in time.
 */
class StringTable {
	readonly bytes: Buffer;
	readonly #what: string;
	#budget: number;
	// Set once a name has run past the cap: see nameLength.
	#capped = false;

	constructor(bytes: Buffer, what: string) {
		this.bytes = bytes;
		this.#what = what;
		// Names share tails in real tables (ld merges suffixes), hence the slack.
		this.#budget = 4 * bytes.length + (1 << 20);
	}

	/** Length in bytes of the name at `offset`, or -1 if it is empty or has no NUL within the name cap. */
	nameLength(offset: number): number {
		const bytes = this.bytes;
		if (offset >= bytes.length) return -1;
		const limit = Math.min(bytes.length, offset + MAX_NAME_BYTES);
		let nul: number;
		if (!this.#capped) {
			// The fast search, bounded only by the table's end. The first name
			// without a NUL inside the cap costs one search past the cap (at most
			// the table), and switches this table to the capped search.
			nul = bytes.indexOf(0, offset);
			if (nul < 0 || nul >= limit) {
				this.#capped = true;
				nul = -1;
			}
		} else {
			// A subarray per name: slower, but never reads past the cap.
			nul = bytes.subarray(offset, limit).indexOf(0);
			if (nul >= 0) nul += offset;
		}
		this.#budget -= nul < 0 ? limit - offset : nul - offset;
		if (this.#budget < 0) throw new ElfError("malformed", `${this.#what}: names exceed the string table's budget`);
		if (nul <= offset) return -1;
		return nul - offset;
	}
}

function bindingRank(binding: number): number {
	// perf's order: non-weak beats weak, then global beats local.
	if (binding === STB_GLOBAL || binding === STB_GNU_UNIQUE) return 2;
	if (binding === STB_LOCAL) return 1;
	if (binding === STB_WEAK) return 0;
	return 0;
}

interface SymbolCollector {
	readonly symbols: PackedSymbols;
	skipped: number;
}

/** u64() on a DataView; the symbol loop reads through one, which is cheaper than Buffer's readers. */
function u64At(view: DataView, off: number): number {
	const hi = view.getUint32(off + 4, true);
	if (hi >= 0x200000) return UNREPRESENTABLE;
	return hi * 0x1_0000_0000 + view.getUint32(off, true);
}

/** Whether the symbol at `off` is a defined function. */
function isFunction(view: DataView, off: number): boolean {
	const kind = view.getUint8(off + 4) & 0xf;
	return (kind === STT_FUNC || kind === STT_GNU_IFUNC) && view.getUint16(off + 6, true) !== SHN_UNDEF;
}

function readSymbols(
	reader: Reader,
	sections: readonly Section[],
	table: Section,
	loads: readonly LoadSegment[],
	what: string,
	out: SymbolCollector,
): void {
	if (table.entsize !== SYM_SIZE) {
		throw new ElfError("malformed", `${what} entry size is ${table.entsize}, expected ${SYM_SIZE}`);
	}
	if (table.link >= sections.length) throw new ElfError("malformed", `${what} links to missing section ${table.link}`);
	const strSection = sections[table.link];
	if (strSection.type !== SHT_STRTAB) {
		throw new ElfError("malformed", `${what} links to section ${table.link}, which is not a string table`);
	}
	const symbols = sectionBytes(reader, table, MAX_SYMTAB_BYTES, what);
	const strings = new StringTable(sectionBytes(reader, strSection, MAX_STRTAB_BYTES, `${what} strings`), what);
	const view = new DataView(symbols.buffer, symbols.byteOffset, symbols.length);
	const count = Math.floor(symbols.length / SYM_SIZE);
	// Counted first, so that the columns are sized by the functions rather
	// than by the whole table.
	const functions = countFunctions(view, count);
	if (functions === 0) return;
	out.symbols.reserve(functions);
	addFunctions(view, count, strings, out.symbols.addStrings(strings.bytes), sections, loads, out);
}

// The two loops over a symbol table are functions of their own: see the note
// on hot loops in symbol-table.ts.

/** Defined functions among symbols 1..count-1 (entry 0 is the reserved null symbol). */
function countFunctions(view: DataView, count: number): number {
	let functions = 0;
	for (let i = 1; i < count; i++) if (isFunction(view, i * SYM_SIZE)) functions++;
	return functions;
}

/** Adds the usable functions among symbols 1..count-1 to `out`, and counts the unusable ones. */
function addFunctions(
	view: DataView,
	count: number,
	strings: StringTable,
	stringsId: number,
	sections: readonly Section[],
	loads: readonly LoadSegment[],
	out: SymbolCollector,
): void {
	for (let i = 1; i < count; i++) {
		const off = i * SYM_SIZE;
		if (!isFunction(view, off)) continue;
		const value = u64At(view, off + 8);
		const size = u64At(view, off + 16);
		if (value <= 0 || size < 0 || value + size > Number.MAX_SAFE_INTEGER) {
			// value 0 is a placeholder (e.g. a discarded weak definition), not an error.
			if (value !== 0) out.skipped++;
			continue;
		}
		const nameStart = view.getUint32(off, true);
		const nameLength = strings.nameLength(nameStart);
		if (nameLength < 0) {
			out.skipped++;
			continue;
		}
		const binding = view.getUint8(off + 4) >> 4;
		out.symbols.add(
			value,
			size,
			size === 0 ? containerEnd(value, view.getUint16(off + 6, true), sections, loads) : undefined,
			(size > 0 ? 4 : 0) + bindingRank(binding),
			stringsId,
			nameStart,
			nameLength,
		);
	}
}

/** End of the section (or else executable segment) holding `addr`, to bound a size-0 symbol. */
function containerEnd(
	addr: number,
	shndx: number,
	sections: readonly Section[],
	loads: readonly LoadSegment[],
): number | undefined {
	if (shndx < SHN_LORESERVE && shndx < sections.length) {
		const section = sections[shndx];
		if (
			section.flags >= 0 &&
			(section.flags & SHF_ALLOC) !== 0 &&
			section.addr >= 0 &&
			section.size >= 0 &&
			addr >= section.addr &&
			addr < section.addr + section.size
		) {
			return section.addr + section.size;
		}
	}
	for (const load of loads) {
		if (load.executable && addr >= load.vaddr && addr < load.vaddr + load.memsz) return load.vaddr + load.memsz;
	}
	return undefined;
}

const WANTED_SECTIONS = new Set([".gnu_debuglink", ".gnu_debugdata"]);

/** The few sections looked up by name; a bad name table gives none rather than failing the file. */
function namedSections(reader: Reader, sections: readonly Section[], shstrndx: number): Map<string, Section> {
	const found = new Map<string, Section>();
	if (shstrndx === 0 || shstrndx >= sections.length) return found;
	const table = sections[shstrndx];
	if (table.type !== SHT_STRTAB || table.size <= 0 || table.size > MAX_SHSTRTAB_BYTES || !reader.fits(table.offset, table.size)) return found;
	const names = reader.read(table.offset, table.size, "section names");
	for (const section of sections) {
		const at = section.name;
		if (at >= names.length) continue;
		const end = names.indexOf(0, at);
		if (end < 0) continue;
		const name = names.toString("latin1", at, end);
		if (WANTED_SECTIONS.has(name) && !found.has(name)) found.set(name, section);
	}
	return found;
}

/** `.gnu_debuglink`: a NUL-terminated file name, padded to 4 bytes, then a CRC-32. */
function readDebugLink(reader: Reader, section: Section): { file: string; crc: number } | undefined {
	if (section.offset < 0 || section.size < 8 || section.size > 4096 || !reader.fits(section.offset, section.size)) return undefined;
	const bytes = reader.read(section.offset, section.size, ".gnu_debuglink");
	const nul = bytes.indexOf(0);
	if (nul <= 0) return undefined;
	const crcAt = alignUp(nul + 1, 4);
	if (crcAt + 4 > bytes.length) return undefined;
	const file = bytes.toString("utf8", 0, nul);
	// Only a plain file name: a path could point anywhere.
	if (file.includes("/") || file === "." || file === "..") return undefined;
	return { file, crc: bytes.readUInt32LE(crcAt) };
}

/**
 * Parses an ELF64 little-endian file through positional reads on `fd`.
 * `fileSize` bounds every read (pass `fstat().size`). Throws {@link ElfError}
 * for anything it cannot use; never reads more than headers, notes and the
 * symbol and string tables.
 */
export function readElf(fd: number, fileSize: number): ElfImage {
	if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new ElfError("malformed", `bad file size ${fileSize}`);
	return parseElf(new Reader(fd, fileSize));
}

/** Parses an ELF64 little-endian file held in memory (a decompressed MiniDebugInfo). */
export function readElfBuffer(bytes: Buffer): ElfImage {
	return parseElf(new Reader(bytes, bytes.length));
}

function parseElf(reader: Reader): ElfImage {
	const fileSize = reader.fileSize;
	const ident = reader.read(0, Math.min(fileSize, EHDR_SIZE), "ELF header");
	if (ident.length < 4 || ident.readUInt32BE(0) !== 0x7f454c46) throw new ElfError("not-elf", "not an ELF file");
	if (ident.length < 7) throw new ElfError("truncated", "ELF identification is truncated");
	if (ident[4] === 1) throw new ElfError("unsupported", "ELF32 is not supported");
	if (ident[4] !== 2) throw new ElfError("malformed", `unknown ELF class ${ident[4]}`);
	if (ident[5] === 2) throw new ElfError("unsupported", "big-endian ELF is not supported");
	if (ident[5] !== 1) throw new ElfError("malformed", `unknown ELF data encoding ${ident[5]}`);
	if (ident[6] !== 1) throw new ElfError("malformed", `unknown ELF version ${ident[6]}`);
	if (ident.length < EHDR_SIZE) throw new ElfError("truncated", "ELF header is truncated");

	const header = ident;
	const eType = header.readUInt16LE(16);
	const machine = header.readUInt16LE(18);
	const phoff = u64(header, 32);
	const shoff = u64(header, 40);
	const phentsize = header.readUInt16LE(54);
	const phnum = header.readUInt16LE(56);
	const shentsize = header.readUInt16LE(58);
	const shnum = header.readUInt16LE(60);
	const shstrndx = header.readUInt16LE(62);
	if (phoff < 0 || shoff < 0) throw new ElfError("malformed", "header table offset is out of range");

	const sections = readSectionHeaders(reader, shoff, shnum, shentsize);
	const program = readProgramHeaders(reader, phoff, phnum, phentsize, sections);
	const buildId = readBuildId(reader, program, sections);

	const collector: SymbolCollector = { symbols: new PackedSymbols(), skipped: 0 };
	// Only the first table of each kind: a hostile file could list one huge
	// table many times over.
	const symtab = sections.find((s) => s.type === SHT_SYMTAB);
	const dynsym = sections.find((s) => s.type === SHT_DYNSYM);
	if (symtab !== undefined) readSymbols(reader, sections, symtab, program.loads, ".symtab", collector);
	if (dynsym !== undefined) readSymbols(reader, sections, dynsym, program.loads, ".dynsym", collector);

	const named = namedSections(reader, sections, shstrndx);
	const debugLink = named.has(".gnu_debuglink") ? readDebugLink(reader, named.get(".gnu_debuglink") as Section) : undefined;
	const debugData = named.get(".gnu_debugdata");

	return {
		type: eType === ET_EXEC ? "exec" : eType === ET_DYN ? "dyn" : "other",
		machine,
		...(buildId === undefined ? {} : { buildId }),
		loads: program.loads,
		symbols: new SymbolTable(collector.symbols),
		skippedSymbols: collector.skipped,
		hasSymtab: symtab !== undefined && symtab.size > SYM_SIZE,
		...(debugLink ? { debugLink } : {}),
		...(debugData && debugData.offset >= 0 && debugData.size > 0 && reader.fits(debugData.offset, debugData.size)
			? { debugData: { offset: debugData.offset, size: debugData.size } }
			: {}),
	};
}

/**
 * Opens, checks and parses one file. Throws {@link ElfError} for everything,
 * including open failures (code "io", the errno error as `cause`) and
 * non-regular files (code "not-elf"; a FIFO would otherwise block).
 */
export function readElfFile(path: string): ElfImage {
	let fd: number;
	try {
		// O_NONBLOCK: opening a FIFO planted at the path must not hang us.
		fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
	} catch (error) {
		throw new ElfError("io", `cannot open ${path}: ${(error as Error).message}`, { cause: error });
	}
	try {
		let size: number;
		try {
			const stat = fs.fstatSync(fd);
			if (!stat.isFile()) throw new ElfError("not-elf", `${path} is not a regular file`);
			size = stat.size;
		} catch (error) {
			if (error instanceof ElfError) throw error;
			throw new ElfError("io", `cannot stat ${path}: ${(error as Error).message}`, { cause: error });
		}
		return readElf(fd, size);
	} finally {
		fs.closeSync(fd);
	}
}

/**
 * Link-time virtual address of a file offset, through the PT_LOAD segment that
 * maps it: for a runtime address in a mapping, pass
 * `addr - mapping.start + mapping.fileOffset`.
 */
export function fileOffsetToVaddr(image: ElfImage, fileOffset: number): number | undefined {
	if (!(fileOffset >= 0)) return undefined;
	for (const load of image.loads) {
		if (fileOffset >= load.offset && fileOffset - load.offset < load.filesz) {
			return fileOffset - load.offset + load.vaddr;
		}
	}
	// The zero-filled tail (.bss) of a segment is still mapped from the file's last page.
	for (const load of image.loads) {
		if (fileOffset >= load.offset && fileOffset - load.offset < load.memsz) {
			return fileOffset - load.offset + load.vaddr;
		}
	}
	return undefined;
}

/** One section's bytes and where they are loaded (0 for non-alloc sections). */
export interface ElfSectionBytes {
	readonly vaddr: number;
	readonly bytes: Buffer;
}

/** What the unwinder needs from one ELF file: its call frame information. */
export interface ElfCfi {
	readonly buildId?: string;
	readonly loads: readonly LoadSegment[];
	readonly ehFrame?: ElfSectionBytes;
	readonly ehFrameHdr?: ElfSectionBytes;
	readonly debugFrame?: ElfSectionBytes;
	/** Bases of DW_EH_PE_textrel and DW_EH_PE_datarel pointers. */
	readonly textVaddr?: number;
	readonly gotVaddr?: number;
	/** True when .eh_frame was found only through PT_GNU_EH_FRAME; its bytes then run to the end of the segment. */
	readonly ehFrameFromSegment?: boolean;
}

const MAX_CFI_BYTES = 64 * 1024 * 1024;
const MAX_SHSTRTAB_BYTES = 16 * 1024 * 1024;

/**
 * Reads the call frame sections (.eh_frame, .eh_frame_hdr, .debug_frame)
 * with the same bounds checks as {@link readElf}, and nothing else past the
 * headers and notes. Without section headers, .eh_frame_hdr is found through
 * PT_GNU_EH_FRAME and the caller locates .eh_frame from it. Throws
 * {@link ElfError}.
 */
export function readElfCfi(fd: number, fileSize: number): ElfCfi {
	if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new ElfError("malformed", `bad file size ${fileSize}`);
	const reader = new Reader(fd, fileSize);
	const header = reader.read(0, Math.min(fileSize, EHDR_SIZE), "ELF header");
	if (header.length < EHDR_SIZE || header.readUInt32BE(0) !== 0x7f454c46) throw new ElfError("not-elf", "not an ELF file");
	if (header[4] !== 2 || header[5] !== 1) throw new ElfError("unsupported", "only ELF64 little-endian is supported");
	const phoff = u64(header, 32);
	const shoff = u64(header, 40);
	if (phoff < 0 || shoff < 0) throw new ElfError("malformed", "header table offset is out of range");
	const sections = readSectionHeaders(reader, shoff, header.readUInt16LE(60), header.readUInt16LE(58));
	const program = readProgramHeaders(reader, phoff, header.readUInt16LE(56), header.readUInt16LE(54), sections);
	const buildId = readBuildId(reader, program, sections);
	const named = new Map<string, Section>();
	let shstrndx = header.readUInt16LE(62);
	if (shstrndx === 0xffff && sections.length > 0) shstrndx = sections[0].link;
	if (shstrndx > 0 && shstrndx < sections.length) {
		const names = sectionBytes(reader, sections[shstrndx], MAX_SHSTRTAB_BYTES, "section names");
		for (const s of sections) {
			const at = s.name;
			if (at >= names.length) continue;
			const end = names.indexOf(0, at);
			const name = names.toString("latin1", at, end < 0 ? names.length : end);
			if (!named.has(name)) named.set(name, s);
		}
	}
	const bytesOf = (name: string): ElfSectionBytes | undefined => {
		const s = named.get(name);
		if (!s || s.type === SHT_NOBITS || s.flags < 0 || (s.flags & SHF_COMPRESSED) !== 0 || s.size === 0) return undefined;
		return { vaddr: s.addr < 0 ? 0 : s.addr, bytes: sectionBytes(reader, s, MAX_CFI_BYTES, name) };
	};
	let ehFrame = bytesOf(".eh_frame");
	let ehFrameHdr = bytesOf(".eh_frame_hdr");
	let fromSegment = false;
	if (!ehFrameHdr && program.ehFrameHdr && program.ehFrameHdr.size <= MAX_CFI_BYTES && reader.fits(program.ehFrameHdr.offset, program.ehFrameHdr.size)) {
		const h = program.ehFrameHdr;
		ehFrameHdr = { vaddr: h.vaddr, bytes: reader.read(h.offset, h.size, "PT_GNU_EH_FRAME") };
	}
	if (!ehFrame && ehFrameHdr) {
		const at = ehFrameAddress(ehFrameHdr);
		const load = at === undefined ? undefined : program.loads.find((l) => at >= l.vaddr && at < l.vaddr + l.filesz);
		if (at !== undefined && load) {
			const offset = at - load.vaddr + load.offset;
			const size = Math.min(load.filesz - (at - load.vaddr), MAX_CFI_BYTES, Math.max(0, fileSize - offset));
			if (size > 0 && reader.fits(offset, size)) {
				ehFrame = { vaddr: at, bytes: reader.read(offset, size, ".eh_frame (from PT_GNU_EH_FRAME)") };
				fromSegment = true;
			}
		}
	}
	const text = named.get(".text");
	const got = named.get(".got");
	return {
		...(buildId === undefined ? {} : { buildId }),
		loads: program.loads,
		...(ehFrame ? { ehFrame } : {}),
		...(ehFrameHdr ? { ehFrameHdr } : {}),
		...(fromSegment ? { ehFrameFromSegment: true } : {}),
		...(named.has(".debug_frame") ? { debugFrame: bytesOf(".debug_frame") } : {}),
		...(text && text.addr >= 0 ? { textVaddr: text.addr } : {}),
		...(got && got.addr >= 0 ? { gotVaddr: got.addr } : {}),
	};
}

/** The .eh_frame address an .eh_frame_hdr points at (version 1, pcrel/absptr sdata4/udata4/sdata8/udata8). */
function ehFrameAddress(hdr: ElfSectionBytes): number | undefined {
	const b = hdr.bytes;
	if (b.length < 8 || b[0] !== 1) return undefined;
	const enc = b[1];
	let value: number;
	switch (enc & 0x0f) {
		case 0x03:
			value = b.readUInt32LE(4);
			break;
		case 0x0b:
			value = b.readInt32LE(4);
			break;
		case 0x04:
		case 0x0c:
			if (b.length < 12) return undefined;
			value = Number(b.readBigInt64LE(4));
			break;
		default:
			return undefined;
	}
	if ((enc & 0x70) === 0x10) value += hdr.vaddr + 4;
	else if ((enc & 0x70) !== 0) return undefined;
	return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}
