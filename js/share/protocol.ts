// What a follower and the leader it shares a broker with say to each other
// over a MessagePort. The calls are the server functions a broker kept
// elsewhere makes (js/remote/runtime.ts; js/redis/library.lua documents
// their arguments and answers); the leader answers them from its own broker
// (host.ts). Every message carries PROTOCOL, so two builds of ferrymq that
// speak differently refuse each other instead of misreading.

/** Bumped whenever a message or a call changes meaning. */
export const PROTOCOL = 2;

/** An error as it crosses: its class, code and message. */
export interface WireError {
  name: string;
  code: string | undefined;
  message: string;
}

/** Follower -> leader. */
export type ToLeader =
  /**
   * Calls server function `fn`; the leader answers with `answer: id`. A
   * page's follower resends a call until answered, and says with `done`
   * that it has every answer up to that call.
   */
  | { v: typeof PROTOCOL; call: number; fn: string; args: unknown[]; done?: number }
  /** The queues (server ids) this follower waits on now: a wake comes when one has due messages. */
  | { v: typeof PROTOCOL; watch: string[] }
  /** Whether this follower listens to the broker's events. */
  | { v: typeof PROTOCOL; events: boolean };

/** Leader -> follower. */
export type ToFollower =
  | { v: typeof PROTOCOL; answer: number; value?: unknown; error?: WireError }
  /** Queue `wake` (a server id) has due messages. */
  | { v: typeof PROTOCOL; wake: string }
  /** The reply to request `reply`, encoded; or why it cannot cross (a value only the leader's context can hold). */
  | { v: typeof PROTOCOL; reply: number; body: Uint8Array }
  | { v: typeof PROTOCOL; reply: number; error: WireError }
  /** The leader's broker closed (null), or stopped by itself (why): so does this follower. */
  | { v: typeof PROTOCOL; closed: WireError | null }
  /** An event of the leader's broker. */
  | { v: typeof PROTOCOL; event: Record<string, unknown> & { type: string } };
