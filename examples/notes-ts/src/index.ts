// notes-ts is examples/notes in TypeScript: it keeps JSON notes in the
// key-value bucket notes and announces each new note to a chat webhook,
// with the three capabilities its pave.yaml grants and nothing more: the
// bucket, the secret NOTES_WEBHOOK_URL (the webhook's URL, which carries
// its token) and the one host that URL may point at.
//
// Routes:
//
//   POST /notes-ts        stores the JSON object sent; 201 {"id", "announced", "detail"}
//   GET  /notes-ts        {"ids": [...]}: the ids of the stored notes, oldest first by id
//   GET  /notes-ts/{id}   the note, as stored; 404 if there is none
//
// It shares the bucket, and so the notes, with examples/notes when both
// are deployed under the same owner. Announcing is best effort: a note is
// stored whether or not the webhook is set or answers, and the response
// says which.

// keyPrefix is where notes live in the bucket.
const keyPrefix = "note/";

// webhookSecret names the secret that holds the webhook's URL.
const webhookSecret = "NOTES_WEBHOOK_URL";

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const bucket = env.kv("notes");
    switch (request.method + " " + request.route) {
      case "POST /notes-ts":
        return create(request, env, bucket);
      case "GET /notes-ts":
        return list(bucket);
      case "GET /notes-ts/{id}":
        return get(bucket, request.params.id ?? "");
    }
    return json(404, { error: "no such route" });
  },
} satisfies Handler;

// storeFailure answers a failed bucket call: the store may be briefly
// unavailable; anything else is a bug, rethrown for a 502 and a log line.
function storeFailure(err: unknown): Response {
  if ((err as CapabilityError).code === "unavailable") {
    return json(503, { error: "notes are unavailable right now; retry later" });
  }
  throw err;
}

async function create(request: Request, env: Env, bucket: KVBucket): Promise<Response> {
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
  // Compact, with the keys sorted, as examples/notes stores a note. A put
  // at revision 0 creates the key only if it is new: two notes can never
  // overwrite each other, however unlikely a repeated id is.
  try {
    await bucket.put(keyPrefix + id, JSON.stringify(sortKeys(note as Record<string, unknown>)), { ifRevision: 0 });
  } catch (err) {
    return storeFailure(err);
  }
  const [announced, detail] = await announce(env, id);
  return json(201, { id, announced, detail });
}

// announce posts a message about note id to the webhook, if one is set.
async function announce(env: Env, id: string): Promise<[boolean, string]> {
  let url: string;
  try {
    url = await env.secret(webhookSecret);
  } catch (err) {
    if ((err as CapabilityError).code === "not_found") {
      return [false, `set the ${webhookSecret} secret to announce new notes`];
    }
    console.warn("reading the webhook URL:", (err as Error).message);
    return [false, "the webhook URL cannot be read right now"];
  }
  let res: Response;
  try {
    res = await fetch(url.trim(), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "New note " + id }),
    });
  } catch (err) {
    // The message names the host at most, never the URL's path, which
    // holds the webhook's token.
    console.warn(`announcing note ${id}:`, (err as Error).message);
    return [false, "the webhook could not be reached"];
  }
  if (res.status < 200 || res.status > 299) {
    return [false, `the webhook answered ${res.status}`];
  }
  return [true, "announced"];
}

async function list(bucket: KVBucket): Promise<Response> {
  let keys: string[];
  try {
    keys = await bucket.list(keyPrefix);
  } catch (err) {
    return storeFailure(err);
  }
  return json(200, { ids: keys.map((k) => k.slice(keyPrefix.length)) });
}

async function get(bucket: KVBucket, id: string): Promise<Response> {
  if (!validID(id)) {
    return json(404, { error: "no such note" });
  }
  let note: string | null;
  try {
    note = await bucket.get(keyPrefix + id);
  } catch (err) {
    return storeFailure(err);
  }
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
