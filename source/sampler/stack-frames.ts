/**
 * The named frames of stacks seen before. A busy thread repeats its stacks
 * (the burners of bench/checkpoint-cost.sh repeat over half of theirs), and
 * naming a stack again costs a symbol lookup per frame, then a frame id per
 * frame in the recorder and a location id per frame in the encoder. A stack
 * served from here is the same frames array as before, so those layers can
 * key their work by its identity (ARCHITECTURE.md, Cost).
 *
 * A stack's names depend on the mappings its process had, so each entry
 * keeps the mapping list it was named under; an image replaces its list on
 * every change, and a different list is a miss. Stacks through JIT code are
 * never kept: their names change as the JIT writes its map.
 */

/** The stack's key and the mapping list its names came from. */
interface Entry {
	readonly mappings: object;
	readonly frames: readonly unknown[];
}

/**
 * A bounded map in two generations: lookups fall through to the older one
 * and move what they find to the newer; when the newer fills up, the older
 * is dropped. Stacks seen recently stay; the memory is at most two
 * generations of entries.
 */
export class StackFrames<F> {
	private newer = new Map<string, Entry>();
	private older = new Map<string, Entry>();
	hits = 0;
	misses = 0;

	constructor(private readonly perGeneration = 8192) {}

	/** The frames named for `key` under `mappings`, if they are still what it means. */
	get(key: string, mappings: object): readonly F[] | undefined {
		let e = this.newer.get(key);
		if (e === undefined) {
			e = this.older.get(key);
			if (e !== undefined && e.mappings === mappings) this.put(key, e);
		}
		if (e === undefined || e.mappings !== mappings) {
			this.misses++;
			return undefined;
		}
		this.hits++;
		return e.frames as readonly F[];
	}

	set(key: string, mappings: object, frames: readonly F[]): void {
		this.put(key, { mappings, frames });
	}

	get size(): number {
		return this.newer.size + this.older.size;
	}

	private put(key: string, e: Entry): void {
		if (this.newer.size >= this.perGeneration) {
			this.older = this.newer;
			this.newer = new Map();
		}
		this.newer.set(key, e);
	}
}
