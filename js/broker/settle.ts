/** What `Runtime.settleQuietly` does with a delivery nobody awaits the settling of. */
export const enum Settle {
  Ack,
  /** Back to the queue with its backoff, counted as a failed delivery. */
  Nack,
  /** Back to the queue at once, uncounted (the core's release): it was never handled (an abandoned wait or loop). */
  Release,
}
