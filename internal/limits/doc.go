// Package limits decides, before any WebAssembly instance is created,
// whether a request may run at all. It holds five independent guards:
//
//   - Limiter: token-bucket rate limits by key (a function, an API key of a
//     function...), with the values for the IETF RateLimit response headers.
//   - OwnerSlots: a bound on invocations in flight per owner, so that one team
//     cannot take every instance the daemon can run and starve the others.
//   - Ledger: denial-of-wallet budgets per function and per owner over UTC
//     calendar days or months, on invocations, compute (GB-seconds) and
//     request bytes. Admission reserves the worst case of a call, so that
//     concurrent requests can never push usage past a budget.
//   - CallDepth: a bound on chains of function-to-function calls, so that a
//     function calling itself, or two functions calling each other, stop.
//   - CallTree: a bound on the total invocations one root request or event
//     causes, so that a recursion that fans out stops too, long before the
//     depth bound would stop it.
//
// Nodes splits the rate and concurrency limits across the nodes sharing a
// store, so that each node admits its share without asking the others;
// budgets are leased from a shared counter instead (Leaser).
//
// The gateway consults these for every request, so every check is a map
// lookup and a few mutex or atomic operations, is safe for concurrent use,
// and keeps memory bounded however many distinct keys callers invent. Where
// a bound forces a choice, the package fails toward limiting: it refuses or
// over-counts rather than letting work through that the policy would not
// allow.
//
// Errors returned here may reach HTTP clients through the gateway, so they
// never quote header values, keys or request contents; only subject names,
// meters, numbers and times appear in them.
package limits
