import { useInput } from "ink";
import { useCallback, useRef, useState } from "react";
import {
	type Effect,
	type KeyContext,
	type KeyPress,
	reduceInput,
	type UiState,
} from "./keymap.js";

/** What the command does for the effects the reducer asks for. */
export type EffectHandlers = Readonly<Record<Effect, () => void>>;

/**
 * Runs every key through `reduceKey` and hands effects to `handlers`.
 * Keys arrive faster than React re-renders (a paste, a held arrow), so the
 * state lives in a ref as well: each key must see the previous key's result,
 * and an effect must run exactly once, not inside a state updater.
 * `context` reads the screen the key lands on (undefined before the first
 * render has finished; such a key is dropped).
 */
export function useTopKeys(
	initial: () => UiState,
	context: () => KeyContext | undefined,
	handlers: EffectHandlers,
	isActive: boolean,
): UiState {
	const [state, setState] = useState(initial);
	const current = useRef(state);
	const latest = useRef({ context, handlers });
	latest.current = { context, handlers };
	// Stable, so Ink does not re-subscribe on every render.
	const onKey = useCallback((input: string, key: KeyPress) => {
		const context = latest.current.context();
		if (!context) return;
		const result = reduceInput(current.current, input, key, context);
		current.current = result.state;
		setState(result.state);
		for (const effect of result.effects) latest.current.handlers[effect]();
	}, []);
	useInput(onKey, { isActive });
	return state;
}
