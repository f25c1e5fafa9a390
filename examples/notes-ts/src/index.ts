// notes-ts is examples/notes in TypeScript: it keeps JSON notes in the
// key-value bucket notes, the one capability its pave.yaml grants.
//
// Routes:
//
//   POST /notes-ts        stores the JSON object sent; 201 {"id", "announced", "detail"}
//   GET  /notes-ts        {"ids": [...]}: the ids of the stored notes, oldest first by id
//   GET  /notes-ts/{id}   the note, as stored; 404 if there is none
//
// It shares the bucket, and so the notes, with examples/notes when both
// are deployed under the same owner. Unlike it, it does not announce new
// notes to a webhook: JavaScript functions have no secrets or outbound
// HTTP yet, so "announced" is always false and "detail" says why.

// keyPrefix is where notes live in the bucket.
const keyPrefix = "note/";

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const bucket = env.kv("notes");
    switch (request.method + " " + request.route) {
      case "POST /notes-ts":
        return create(request, bucket);
      case "GET /notes-ts":
        return list(bucket);
      case "GET /notes-ts/{id}":
        return get(bucket, request.params.id ?? "");
    }
    return json(404, { error: "no such route" });
  },
} satisfies Handler;

// A failing bucket call rejects, and the call fails with 502 and the error
// in the function's log: env.kv's errors do not yet tell a store that is
// briefly unavailable (examples/notes answers 503 for it) from a bug.

async function create(request: Request, bucket: KVBucket): Promise<Response> {
  let note: unknown;
  try {
    note = await request.json();
  } catch {
    note = undefined;
  }
  if (typeof note !== "object" || note === null || Array.isArray(note)) {
    return json(400, { error: "the body must be a JSON object" });
  }
  const id = newID();
  // Compact, with the keys sorted, as examples/notes stores a note. The
  // id is 64 random bits: it does not repeat in practice (env.kv has no
  // compare-and-set yet to make sure).
  await bucket.put(keyPrefix + id, JSON.stringify(sortKeys(note as Record<string, unknown>)));
  return json(201, {
    id,
    announced: false,
    detail: "announcing new notes needs secrets and outbound HTTP, which JavaScript functions do not have yet",
  });
}

async function list(bucket: KVBucket): Promise<Response> {
  const keys = await bucket.list(keyPrefix);
  return json(200, { ids: keys.map((k) => k.slice(keyPrefix.length)) });
}

async function get(bucket: KVBucket, id: string): Promise<Response> {
  if (!validID(id)) {
    return json(404, { error: "no such note" });
  }
  const note = await bucket.get(keyPrefix + id);
  if (note === null) {
    return json(404, { error: "no such note" });
  }
  return new Response(note, { headers: { "content-type": "application/json" } });
}

// sortKeys returns note with its keys in sorted order.
function sortKeys(note: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(note).sort()) out[k] = note[k];
  return out;
}

// newID returns a random note id, 16 hex digits. crypto.getRandomValues
// reads the host's randomness in every call, never what the snapshot
// holds.
function newID(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function validID(id: string): boolean {
  return /^[0-9a-f]{16}$/i.test(id);
}

// json returns a response with value as its JSON body, followed by a
// newline as the Go SDK's pave.JSON writes it.
function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}
