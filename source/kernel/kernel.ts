/**
 * The typed interface over the native addon. Everything above `kernel/`
 * talks to these types, so it can be tested with a fake kernel.
 */

/** Options for loading and attaching the BPF programs. */
export interface OpenOptions {
	readonly frequencyHz: number;
	/** Side-band ring size per CPU, in pages (a power of two). */
	readonly sidebandPages: number;
	/** User stack bytes each sample copies (0..STACK_COPY_MAX). */
	readonly stackCopyBytes: number;
	/** Size of the samples ring, a power of two. */
	readonly sampleRingBytes: number;
	/**
	 * Sample only these processes and every process they start, from the
	 * kernel on (absent or empty: every process).
	 */
	readonly pids?: readonly number[];
	/** Whether the cpu-clock sampler is attached (default true). */
	readonly cpuSamples?: boolean;
	/** Measure off-CPU time too: the sched_switch program is loaded only then. */
	readonly offCpu?: {
		readonly minBlockNs: number;
		readonly kernelThreads: boolean;
		/** Size of the off-CPU ring, a power of two. */
		readonly ringBytes: number;
	};
}

/** A drain's bytes: the first `length` of `buffer`. */
export interface DrainBytes {
	readonly buffer: ArrayBuffer;
	readonly length: number;
}

/** One live kernel session: the programs, their maps and rings. */
export interface KernelSession {
	/** Loads and attaches everything, unarmed; rejects with one message. */
	open(options: OpenOptions): Promise<void>;
	/** Arms every probe at once. */
	arm(): void;
	/**
	 * One drain: see `decodeDrain` for what the bytes hold. `into` is the
	 * buffer of the last drain, handed back for reuse once nothing reads it.
	 */
	drain(into?: ArrayBuffer): Promise<DrainBytes>;
	/** Detaches and unloads everything; idempotent. */
	close(): Promise<void>;
	programIds(): number[];
	mapIds(): number[];
}

/** sizeof/offsetof of the ABI structs, as the addon's compiler sees them. */
export type AbiLayout = Record<string, Record<string, number>>;

/** The kernel as the rest of tsprof sees it. */
export interface Kernel {
	createSession(): KernelSession;
	layout(): AbiLayout;
	/** Demangled C++/Rust names (libiberty); null where a name is not mangled. */
	demangle(names: readonly string[]): (string | null)[];
	/** Returns the C heap's free pages to the system (after loading, and now and then). */
	releaseFreeMemory?(): void;
}
