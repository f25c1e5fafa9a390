// A marker that stands for a value already encoded as JSON text.
class RawJSON {
  constructor(readonly text: string) {}
}

// compactJSON returns the JSON text s without the whitespace between its
// tokens, its strings and numbers exactly as written. s must be valid JSON.
export function compactJSON(s: string): RawJSON {
  let out = "";
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      out += c;
      if (c === "\\") out += s[++i];
      else if (c === '"') inString = false;
    } else if (c === '"') {
      out += c;
      inString = true;
    } else if (c !== " " && c !== "\t" && c !== "\n" && c !== "\r") {
      out += c;
    }
  }
  return new RawJSON(out);
}

// json returns a response with value as its JSON body, followed by a
// newline as the Go SDK's pave.JSON writes it. Values made by compactJSON
// are written as they are.
export function json(status: number, value: Record<string, unknown>): Response {
  const fields = Object.entries(value).map(([k, v]) =>
    JSON.stringify(k) + ":" + (v instanceof RawJSON ? v.text : JSON.stringify(v)));
  return new Response("{" + fields.join(",") + "}\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}
