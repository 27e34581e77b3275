// The payloads (and headers) of the messages a broker holds, kept here as
// the JS values they are. The core knows each only by its slot number
// (src/bindings/broker.rs `Body`), so a send passes a number into wasm and
// a delivery reads the payload back from here: no payload crosses the
// boundary, and nothing is serialized unless the broker is durable.
//
// A slot is held by as many stored messages as the core made of it (publish
// makes one per matching queue) and freed when the core has reported each
// of them dropped (acked, discarded, purged, expired, refused as a
// duplicate), so it is reused only once no message refers to it. Per slot
// this costs one array entry: headers and counts above one, both rare, are
// kept in maps.
export class Payloads {
  readonly values: unknown[] = [];
  readonly #headers = new Map<number, Record<string, string>>();
  /** Slots more than one stored message holds -> how many. */
  readonly #shared = new Map<number, number>();
  readonly #free: number[] = [];

  /** A slot with `payload` and `headers` for a call about to be made; `hold` or `free` it after the call. */
  take(payload: unknown, headers: Record<string, string> | undefined): number {
    const slot = this.#free.pop() ?? this.values.length;
    this.values[slot] = payload;
    if (headers !== undefined) this.#headers.set(slot, headers);
    return slot;
  }

  headers(slot: number): Record<string, string> | undefined {
    return this.#headers.size === 0 ? undefined : this.#headers.get(slot);
  }

  /** The core made `count` messages of `slot` (none: it is free again). One needs no call. */
  hold(slot: number, count: number): void {
    if (count === 0) this.free(slot);
    else if (count > 1) this.#shared.set(slot, count);
  }

  /** The core dropped one message of `slot`. */
  dropped(slot: number): void {
    const held = this.#shared.get(slot);
    if (held === undefined) this.free(slot);
    else if (held === 2) this.#shared.delete(slot);
    else this.#shared.set(slot, held - 1);
  }

  free(slot: number): void {
    this.values[slot] = undefined;
    this.#headers.delete(slot);
    this.#free.push(slot);
  }
}
