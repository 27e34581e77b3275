/** What a task rejects with when it runs past its `timeout` (p-queue's p-timeout error). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}
