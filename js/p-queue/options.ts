// p-queue's options, checked as p-queue checks them (its error types and
// messages, which its users may match), and the numbers ferrymq takes.

const MAX_COUNT = 2 ** 32 - 1;

// A bad value as p-queue's messages show it: most as `${value}`, but
// intervalCap and interval through toString(), so undefined as nothing.
export const describe = (value: unknown): string => `\`${value}\` (${typeof value})`;
export const describeRate = (value: unknown): string => `\`${value?.toString() ?? ''}\` (${typeof value})`;

export function atLeastOne(name: string, value: unknown): number {
  if (!(typeof value === 'number' && value >= 1)) {
    const shown = name === 'intervalCap' ? describeRate(value) : describe(value);
    throw new TypeError(`Expected \`${name}\` to be a number from 1 and up, got ${shown}`);
  }
  return value;
}

export function timeoutOf(value: unknown): number | undefined {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new TypeError(`Expected \`timeout\` to be a positive finite number, got ${describe(value)}`);
  }
  return value;
}

/** A count p-queue allows as a fraction or Infinity, as the whole number the core takes. */
export const wholeCount = (value: number): number => (value === Infinity ? Infinity : Math.min(Math.ceil(value), MAX_COUNT));
