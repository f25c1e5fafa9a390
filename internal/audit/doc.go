// Package audit is pave's tamper-evident audit log: every administrative
// action (deploy, rollback, rm, key create and revoke, secret set and rm,
// master key rotation, budget changes, quarantine and restore) and every
// security refusal is an Event — who (Actor), what (Action), to what
// (Target), from where (Source), how it ended (Outcome: ok, denied,
// failed), when, and a few string Details.
//
// # No secrets
//
// An event names things; it never holds a secret value, an API key, a
// token or a password. Build events with NewEvent, With, From, Deny and
// Fail, and refer to objects with Ref ("secret:DB_URL", "key:ci"). With
// formats values with fmt, so a secret.Value shows as "[REDACTED]". As a
// second line of defence Record replaces with "[REDACTED]" the value of any
// detail whose key names a credential (password, token, authorization,
// cookie, credential, private, api_key, ...) and, in every free-form
// field, anything that looks like a pave API key, admin token or console
// password (pave_k_..., pave_a_..., pave_u_...), a bearer or
// basic credential, or a JWT.
//
// # The chain
//
// Records are numbered from 1 by the Log, which never reuses a number.
// Each record carries the SHA-256 hash of the one before it (prev; zeros
// for record 1), a MAC under the audit key, and its own hash. A record is
// stored in one canonical encoding, a JSON object with these fields in
// this order and nothing else, no white space:
//
//	event: {"v":2,"seq":N,"kind":"event","time":T,"prev":P,"actor":S,"action":S,
//	        "target":S,"source":S,"outcome":S,"details":{K:S,...},"key":ID,"mac":M,"hash":H}
//	seal:  {"v":2,"seq":N,"kind":"seal","time":T,"prev":P,"key":ID,"mac":M,"hash":H}
//
// N is a decimal integer; T is the UTC time in RFC 3339 with nanoseconds
// and no trailing zeros (Go's time.RFC3339Nano, ending in Z); P, M and H are
// 64 lowercase hex digits; ID is 16 lowercase hex digits; details are
// sorted by key (bytewise). Strings are valid UTF-8 written as is, except
// that '"' and '\' are escaped with a backslash, newline, carriage return
// and tab as \n \r \t, and other bytes below 0x20 and 0x7F as \u00xx with
// lowercase hex digits. The MAC is
//
//	M = HMAC-SHA256(K, label || the encoding without mac and hash)
//
// with the label "pave audit event v2\n" for events and "pave audit seal
// v1\n" for seals; it covers every field, the sequence number and prev
// included. The body of a record is its encoding without the hash field
// (the object closed after mac); the record's hash is
//
//	H = SHA-256("pave audit record v1\n" || body)
//
// A decoder (DecodeRecord) accepts only bytes that re-encode to themselves:
// any change of a stored record's bytes, even one that is still the same
// JSON value (letter case of a field name, an escape, a space), fails to
// decode or fails its hash, at that record. A change with the hash
// recomputed fails the MAC, at that record, since the MAC needs the key.
//
// K is derived with HKDF-SHA256 (info "pave audit: seal and head mac,
// format 1") from a 32-byte key that is not stored in JetStream: the caller
// passes it in base64 as a secret.Value, and LoadOrCreateKey keeps it in a
// 0600 file. ID, derived from K too, names the key without revealing it.
//
// Format 1, written before format 2, is read too: there only seals carry a
// key and a MAC ({"v":1,...} with no key or mac in events). A format 1
// event is taken as genuine only when a seal after it covers it, and only
// before the first format 2 record: an unsealed format 1 event, or one
// after a format 2 record, is reported as forged.
//
// # Seals and the head
//
// A seal is a record of its own in the chain, appended after every
// Options.SealEvery records and whenever Seal is called (the daemon calls it
// on a ticker and at shutdown; Run does both), unless the newest record is
// a seal already. Its prev is the hash of the head of the chain it seals.
// After every seal the Auditor also writes a head to a HeadStore: a signed
// note {"v":1,"seq":S,"hash":H,"time":T,"key":ID,"mac":M} naming the newest
// seal (M being HMAC-SHA256(K, "pave audit head v1\n" || the note without
// mac)). KVHead keeps it in a key-value bucket; FileHead in a file next to
// the key, outside JetStream. The head is what shows records cut off the
// end of the log, which no record can show itself.
//
// # Rotation
//
// Auditor.Rotate hands the log to a new key: it appends an event with the
// action ActionRotateKey, sealed with the old key, whose details name
// the old key ("from") and the new one ("to"), then seals the chain with
// the new key and writes the head. A walk of the log starts with the key
// of the first record it reads and, after a genuine rotation, requires
// the new key of every record: a record sealed with the old key after it
// is forged, whoever holds that key, and changing or removing the
// rotation breaks the chain there. The keys of earlier rotations stay
// needed to check the records they sealed (Options.Keys,
// VerifyOptions.Keys); a rotation to a key the verifier does not hold is
// ProblemUnknownKey. A writer sharing the log follows another's rotation
// when it holds the new key, and appends nothing while it does not
// (ErrKeyNotHeld), as its records would read as forged.
//
// # The Auditor checks what it appends to
//
// CheckTail, which the daemon runs at start, walks the log from the seal
// the head names to the end, as Verify does. While it runs, whenever
// another writer appended first, the Auditor checks every record after the
// last one it knows to be genuine before it appends. Once it finds a
// problem it goes on recording events (each with its own MAC) but no
// longer seals (Seal returns ErrBroken, Broken returns the problem), so no
// seal or head ever vouches for tampered records; the daemon reports it in
// its log, its metrics and its posture report.
//
// # Storage
//
// StreamLog keeps the records in the JetStream stream "pave_audit"
// (StreamName), subject "pave.audit" (Subject), file storage, one record
// per message, the stream sequence number being the record's. It keeps
// everything unless StreamOptions set MaxAge or MaxBytes. The stream
// refuses to delete a message or to be purged (JetStream's deny_delete and
// deny_purge, which can never be unset on a stream). Appends use
// JetStream's expected-last-sequence check: several daemons sharing one NATS
// server keep one chain, each re-reading the end and retrying when another
// appended first. FileSink copies each record, as stored, to a file as a
// JSON line: a copy that verifies like the log.
//
// # What Verify proves
//
// Verify walks the log from record 1 and reports the first problem, with
// its sequence number and kind:
//
//   - a changed byte in a record: ProblemMalformed or ProblemEdited there;
//   - a record added, anywhere, or changed with its hash recomputed, by
//     someone without the key: ProblemForged there (ProblemForgedSeal for
//     a seal), since its MAC is wrong;
//   - a removed record: ProblemMissing at its number (the Log keeps
//     numbers, so the gap shows), including records removed from the start
//     unless VerifyOptions.AllowPruned says retention may do that;
//   - records reordered, or copied into a fresh log without the removed
//     ones: ProblemMoved, as a record names its own number;
//   - a genuine record put in another place of the chain: ProblemBrokenLink
//     at it, as its prev names another record;
//   - the newest records deleted from the stream: ProblemTruncated, because
//     JetStream's last sequence number stays past them;
//   - the log rebuilt without its sealed end (the stream deleted and
//     refilled, or the store rolled back to a copy): ProblemTruncated, when
//     the head names a seal past the end; a head that is altered or signed
//     with another key: ProblemForgedHead.
//
// # What it cannot prove
//
//   - Records cut off the end after the newest seal the head names, in a
//     log rebuilt without them (the stream deleted and refilled, or rolled
//     back to a copy taken after that seal): at most SealEvery records or
//     one SealInterval. Nothing can be added or changed there, only lost.
//   - The head defends only if the attacker cannot also replace it. A head
//     in a KV bucket of the same JetStream can be deleted (Verify then only
//     warns: there is no head) or replaced by an older, genuinely signed
//     head, with the log rebuilt to match it. FileHead outside JetStream
//     moves that to the machine's file system.
//   - With a retention bound, records removed from the start look like
//     retention (VerifyReport.Pruned), and the first record's prev is trusted.
//   - Whoever holds the key can forge anything: keep it out of JetStream
//     and out of backups of the store. The daemon's posture report flags a
//     key kept in the embedded store's data directory.
//   - Times come from the writers' clocks and are not checked.
//   - Only what was recorded is there: an action whose Record failed is
//     not in the log; callers decide whether such an action may proceed.
package audit
