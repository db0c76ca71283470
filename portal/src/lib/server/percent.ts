/** Reads a percentage typed by a person ("20", "12.5", "12.50%") as basis points, exactly. */
export function percentToBps(raw: string): number | null {
  const match = /^(\d{1,6})(?:\.(\d{1,2}))?\s*%?$/.exec(raw.trim());
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}
