// echo-ts is examples/echo in TypeScript: POST /echo-ts answers with the
// JSON value it was sent and what it knows about the request. A body that
// is not JSON gets 400 Bad Request.
import { compactJSON, json } from "./json";

export default {
  async fetch(request: Request): Promise<Response> {
    const text = await request.text();
    try {
      JSON.parse(text);
    } catch {
      return json(400, { error: "body must be JSON" });
    }
    return json(200, {
      // The body as sent, without its whitespace: numbers keep their
      // digits, which parsing and serialising again would not.
      received: compactJSON(text),
      method: request.method,
      path: new URL(request.url).pathname,
      request_id: request.requestId,
      caller: request.caller,
    });
  },
} satisfies Handler;
