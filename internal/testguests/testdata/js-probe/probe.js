// A JavaScript test guest: the path after /js/ says what it does.

// State a call may leave behind: none of it may reach the next call.
let count = 0;
const seen = [];

function recurse(n) {
  return recurse(n + 1) + 1;
}

// outcome is what a capability's promise settled to, as JSON: its value,
// or the error's name, code and message.
async function outcome(promise, describe = (v) => v) {
  try {
    return { value: await describe(await promise) };
  } catch (e) {
    return { error: e.name, code: e.code, message: e.message };
  }
}

// response describes a Response that fetch or env.invoke resolved to.
async function response(r) {
  return { status: r.status, url: r.url, backend: r.headers.get("x-backend"), body: await r.text() };
}

export default {
  async fetch(request, env) {
    // A topic trigger's call: keep the event where the test can read it.
    if (request.event) {
      const record = { event: request.event, callId: request.callId, data: await request.json() };
      await env.kv("probe").put("event-" + request.event.id, JSON.stringify(record));
      return new Response(null, { status: 204 });
    }
    const url = new URL(request.url);
    const what = url.pathname.replace(/^\/js\//, "");
    switch (what) {
      case "secret": {
        // The value goes to the response and the log: the host must
        // redact it from both.
        const got = await outcome(env.secret(url.searchParams.get("name")));
        console.log("read the secret:", got);
        return Response.json(got);
      }
      case "secret-throw":
        throw new Error("the secret is " + (await env.secret(url.searchParams.get("name"))));
      case "fetch": {
        const spec = await request.json();
        return Response.json(await outcome(fetch(spec.url, spec.init), response));
      }
      case "invoke": {
        const spec = await request.json();
        return Response.json(await outcome(env.invoke(spec.name, spec.path, spec.init), response));
      }
      case "publish": {
        const spec = await request.json();
        return Response.json(await outcome(env.publish(spec.topic, spec.data)));
      }
      case "kv-get":
        return Response.json(await outcome(env.kv("probe").get(url.searchParams.get("key"), "json")));
      case "cas": {
        // Compare-and-swap, step by step, on a key of the request's.
        const b = env.kv("probe");
        const key = url.searchParams.get("key");
        const steps = {};
        steps.absent = await outcome(b.getWithRevision(key));
        steps.create = await outcome(b.put(key, "one", { ifRevision: 0 }));
        steps.createAgain = await outcome(b.put(key, "two", { ifRevision: 0 }));
        steps.read = await outcome(b.getWithRevision(key));
        steps.update = await outcome(b.put(key, "two", { ifRevision: steps.read.value.revision }));
        steps.stale = await outcome(b.put(key, "three", { ifRevision: steps.read.value.revision }));
        steps.final = await outcome(b.getWithRevision(key));
        steps.denied = await outcome(env.kv("other").put(key, "x", { ifRevision: 0 }));
        return Response.json(steps);
      }
      case "count": {
        count++;
        seen.push(request.headers.get("x-call"));
        globalThis.leaked = (globalThis.leaked || 0) + 1;
        // The engine fills in one Request object for every call: what a
        // call adds to it or to its headers must not be there in the next.
        const marked = "mark" in request || request.headers.has("x-mark");
        request.mark = 1;
        request.headers.set("x-mark", "1");
        return Response.json({ count, seen, leaked: globalThis.leaked, marked });
      }
      case "uuid":
        return new Response(crypto.randomUUID());
      case "throw":
        throw new Error("a detail only the log may see");
      case "reject":
        await null;
        throw new TypeError("rejected after an await");
      case "loop":
        while (true) {}
      case "recurse":
        return new Response(String(recurse(0)));
      case "pending":
        return new Promise(() => {});
      case "timer": {
        // A timer that fires within the timeout, then one far past it.
        const waited = await new Promise((resolve) => setTimeout(() => resolve("waited"), 20));
        if (new URL(request.url).searchParams.get("long") === "1") {
          await new Promise((resolve) => setTimeout(resolve, 60_000));
        }
        return new Response(waited);
      }
      case "not-a-response":
        return "just a string";
      case "log":
        console.log("log line", { n: 1 });
        console.warn("warn line");
        console.error(new Error("error line"));
        return new Response("logged\n");
      case "kv": {
        const bucket = env.kv("probe");
        const body = await request.json();
        await bucket.put(String(body.id), JSON.stringify(body));
        const back = await bucket.get(String(body.id), "json");
        const missing = await bucket.get("missing");
        const denied = await env.kv("other").get("x").then(() => "allowed", (e) => e.message);
        return Response.json({ back, missing, denied, keys: await bucket.list("") }, { status: 201 });
      }
      case "echo":
        return new Response(await request.arrayBuffer(), {
          status: 201,
          headers: {
            "x-method": request.method,
            "x-params": JSON.stringify(request.params),
            "content-type": request.headers.get("content-type") || "application/octet-stream",
          },
        });
    }
    return Response.json({ error: "unknown probe " + what }, { status: 404 });
  },
};
