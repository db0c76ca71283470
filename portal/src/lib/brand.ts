/**
 * Turns a tenant's brand colours into the design system's CSS variables. Colours are checked
 * (only #rgb/#rrggbb pass, so nothing else can reach a style attribute) and the text drawn on or
 * with them is chosen to keep WCAG AA contrast whatever a reseller picks.
 */

const DEFAULT_PRIMARY = '#4f46e5';
const DEFAULT_SECONDARY = '#0ea5e9';

type Rgb = [number, number, number];

function parse(hex: string | null | undefined): Rgb | null {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex?.trim() ?? '');
  if (!match?.[1]) return null;
  const digits = match[1].length === 3 ? [...match[1]].map((d) => d + d).join('') : match[1];
  return [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16)) as Rgb;
}

function hex([r, g, b]: Rgb): string {
  return `#${[r, g, b].map((c) => Math.round(Math.min(255, Math.max(0, c))).toString(16).padStart(2, '0')).join('')}`;
}

function luminance([r, g, b]: Rgb): number {
  const linear = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

function contrast(a: Rgb, b: Rgb): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

function mix(a: Rgb, b: Rgb, weight: number): Rgb {
  return [0, 1, 2].map((i) => a[i]! * (1 - weight) + b[i]! * weight) as Rgb;
}

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const INK: Rgb = [17, 24, 39];

/** Darkens a colour until it reads as text on white at 4.5:1 or better. */
function readableOnWhite(color: Rgb): Rgb {
  let current = color;
  for (let step = 0; step < 20 && contrast(current, WHITE) < 4.5; step += 1) current = mix(current, BLACK, 0.12);
  return current;
}

export function brandStyle(primaryColor: string | null | undefined, secondaryColor: string | null | undefined): string {
  const primary = parse(primaryColor) ?? parse(DEFAULT_PRIMARY)!;
  const secondary = parse(secondaryColor) ?? parse(DEFAULT_SECONDARY)!;
  const onPrimary = contrast(primary, WHITE) >= 4.5 ? WHITE : contrast(primary, INK) >= contrast(primary, WHITE) ? INK : WHITE;
  const variables: Record<string, string> = {
    '--brand': hex(primary),
    '--brand-ink': hex(readableOnWhite(primary)),
    '--on-brand': hex(onPrimary),
    '--brand-soft': hex(mix(primary, WHITE, 0.9)),
    '--brand-strong': hex(mix(primary, BLACK, 0.18)),
    '--accent': hex(secondary),
    '--accent-ink': hex(readableOnWhite(secondary)),
    '--accent-soft': hex(mix(secondary, WHITE, 0.88)),
  };
  return Object.entries(variables)
    .map(([name, value]) => `${name}: ${value}`)
    .join('; ');
}

/** A palette for chart series, starting from the brand colours. */
export function seriesColors(primaryColor: string | null | undefined, secondaryColor: string | null | undefined, n: number): string[] {
  const primary = parse(primaryColor) ?? parse(DEFAULT_PRIMARY)!;
  const secondary = parse(secondaryColor) ?? parse(DEFAULT_SECONDARY)!;
  const extra: Rgb[] = [[245, 158, 11], [16, 185, 129], [236, 72, 153], [100, 116, 139], [139, 92, 246]];
  const base = [primary, secondary, ...extra];
  return Array.from({ length: n }, (_, i) => hex(base[i % base.length]!));
}
