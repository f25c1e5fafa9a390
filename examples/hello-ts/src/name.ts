// maxNameChars is the longest name greeted, in code points; longer names
// are cut short.
export const maxNameChars = 64;

// isControl reports whether a code point is a C0 or C1 control character.
const isControl = (c: string): boolean => {
  const n = c.codePointAt(0) ?? 0;
  return n < 0x20 || (n >= 0x7f && n < 0xa0);
};

// cleanName makes a caller-supplied name safe to echo: it drops control
// characters, trims surrounding space and keeps at most maxNameChars code
// points.
export function cleanName(s: string): string {
  const kept = Array.from(s).filter((c) => !isControl(c)).join("").trim();
  return Array.from(kept).slice(0, maxNameChars).join("").trim();
}
