package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/store"
)

// Claims make route and topic ownership hold across every node sharing the
// store. Each route pattern (as the router sees collisions: parameter names
// erased) and each topic has one entry in the claims bucket, written
// create-only, so of two deploys that claim the same route through two
// nodes at the same moment exactly one creates the entry and the other is
// refused. A deploy takes its claims before its function record is
// written and releases those its previous version held and the new one
// does not once it is; a removal releases all of the function's.
//
// A route has one holder. A topic belongs to one owner and may have many
// holders of that owner. A claim whose holders' records no longer claim it
// (a node stopped between claiming and recording, or between removing and
// releasing) is stale once claimGrace has passed since it was written,
// and another function may take it over.

// claimGrace is how long a claim counts as live without its holder's
// record claiming it: longer than any deploy takes from claiming to
// recording.
const claimGrace = time.Minute

// claim is the value of a claims entry.
type claim struct {
	Kind string `json:"kind"` // "route" or "topic"
	// Name is the route pattern or the topic.
	Name string `json:"name"`
	// Owner is a topic's owner.
	Owner     string    `json:"owner,omitempty"`
	Functions []string  `json:"functions"`
	At        time.Time `json:"at"`
}

// want is a claim a version needs.
type want struct {
	kind, name, owner string
}

func (w want) key() string {
	sum := sha256.Sum256([]byte(w.name))
	return w.kind + "." + hex.EncodeToString(sum[:])
}

// wants returns the claims of a version with routes, topics and owner.
func wants(routes []manifest.Route, topics []string, owner string) []want {
	var out []want
	seen := map[string]bool{}
	for _, r := range routes {
		if p := r.Pattern(); !seen["r"+p] {
			seen["r"+p] = true
			out = append(out, want{kind: "route", name: p})
		}
	}
	for _, t := range topics {
		if !seen["t"+t] {
			seen["t"+t] = true
			out = append(out, want{kind: "topic", name: t, owner: owner})
		}
	}
	return out
}

// versionWants returns the claims v needs.
func versionWants(v *Version) []want {
	if v == nil {
		return nil
	}
	return wants(v.Routes, v.Topics(), v.Owner)
}

// ClaimReport is what UseClaims found: the claims of stored functions that
// another function already held (collisions stored by versions of pave
// without claims). Each is refused again on the function's next deploy;
// nothing else is.
type ClaimReport struct {
	Created    int
	Collisions []error
}

// UseClaims makes the registry claim routes and topics in claims, and
// creates the missing claims of every function's active version, which a
// store written by a version of pave without claims lacks.
func (r *Registry) UseClaims(ctx context.Context, claims Records) (ClaimReport, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	r.claims = claims
	var report ClaimReport
	for _, f := range r.List() {
		v := f.Current()
		for _, w := range versionWants(v) {
			created, err := r.take(ctx, f.Name, w)
			switch {
			case errors.Is(err, ErrRouteConflict), errors.Is(err, ErrTopicOwned):
				report.Collisions = append(report.Collisions, err)
			case err != nil:
				return report, err
			case created:
				report.Created++
			}
		}
	}
	return report, nil
}

// claimAll takes every claim in ws for function fn, or none: on a refusal
// it releases what it took and returns the refusal. It returns the claims
// it took that fn did not hold before.
func (r *Registry) claimAll(ctx context.Context, fn string, ws []want) ([]want, error) {
	if r.claims == nil {
		return nil, nil
	}
	var taken []want
	for _, w := range ws {
		created, err := r.take(ctx, fn, w)
		if err != nil {
			r.release(ctx, fn, taken)
			return nil, err
		}
		if created {
			taken = append(taken, w)
		}
	}
	return taken, nil
}

// releaseUnused releases the claims in old that fn's new version, which
// needs now, does not, nor the version stored now: another node may have
// deployed fn again meanwhile.
func (r *Registry) releaseUnused(ctx context.Context, fn string, old, now []want) {
	keep := map[string]bool{}
	for _, w := range now {
		keep[w.key()] = true
	}
	gone := false
	for _, w := range old {
		gone = gone || !keep[w.key()]
	}
	if !gone {
		return
	}
	if e, err := r.records.Get(ctx, fn); err == nil {
		var f Function
		if json.Unmarshal(e.Value, &f) == nil {
			for _, w := range versionWants(f.Current()) {
				keep[w.key()] = true
			}
		}
	}
	var drop []want
	for _, w := range old {
		if !keep[w.key()] {
			drop = append(drop, w)
		}
	}
	r.release(ctx, fn, drop)
}

// take makes fn a holder of w, and reports whether fn was not one
// already.
func (r *Registry) take(ctx context.Context, fn string, w want) (bool, error) {
	key := w.key()
	for attempt := 0; attempt < 10; attempt++ {
		fresh := claim{Kind: w.kind, Name: w.name, Owner: w.owner, Functions: []string{fn}, At: r.now().UTC()}
		e, err := r.claims.Get(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			_, err = r.claims.Create(ctx, key, mustJSON(fresh))
			if errors.Is(err, store.ErrExists) {
				continue // another node took it this moment: look again
			}
			return err == nil, err
		}
		if err != nil {
			return false, err
		}
		var c claim
		if err := json.Unmarshal(e.Value, &c); err != nil {
			return false, fmt.Errorf("claim %s: %w", key, err)
		}
		mine := slices.Contains(c.Functions, fn)
		if mine && c.Owner == w.owner {
			return false, nil
		}
		next := fresh
		others := slices.DeleteFunc(slices.Clone(c.Functions), func(h string) bool { return h == fn })
		live, err := r.liveHolders(ctx, c, others)
		if err != nil {
			return false, err
		}
		if len(live) > 0 {
			if w.kind == "route" || c.Owner != w.owner {
				return false, r.refusal(fn, w, c, live)
			}
			next.Functions = append(live, fn) // one more function of the topic's owner
		}
		if _, err := r.claims.Update(ctx, key, mustJSON(next), e.Revision); err != nil {
			if errors.Is(err, store.ErrConflict) {
				continue
			}
			return false, err
		}
		return !mine, nil
	}
	return false, fmt.Errorf("the claim of %s %q is being changed concurrently; try again", w.kind, w.name)
}

// liveHolders returns the holders among hs that still hold c: those
// whose stored active version claims it, and all of them while c is
// younger than claimGrace (a deploy between claiming and recording).
func (r *Registry) liveHolders(ctx context.Context, c claim, hs []string) ([]string, error) {
	if r.now().Sub(c.At) < claimGrace {
		return hs, nil
	}
	var live []string
	for _, h := range hs {
		e, err := r.records.Get(ctx, h)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var f Function
		if json.Unmarshal(e.Value, &f) != nil {
			continue
		}
		if slices.Contains(versionWants(f.Current()), want{kind: c.Kind, name: c.Name, owner: c.Owner}) {
			live = append(live, h)
		}
	}
	return live, nil
}

// holds reports whether fn holds the claim w.
func (r *Registry) holds(ctx context.Context, fn string, w want) bool {
	if r.claims == nil {
		return false
	}
	e, err := r.claims.Get(ctx, w.key())
	if err != nil {
		return false
	}
	var c claim
	return json.Unmarshal(e.Value, &c) == nil && slices.Contains(c.Functions, fn)
}

// refusal is the error for fn wanting w, held by the functions live.
func (r *Registry) refusal(fn string, w want, c claim, live []string) error {
	if w.kind == "route" {
		return fmt.Errorf("%w: %s of function %q collides with the same route of function %q", ErrRouteConflict, w.name, fn, live[0])
	}
	return fmt.Errorf("%w: topic %q is used by function %q of owner %q; a topic's publishers and subscribers must have one owner", ErrTopicOwned, w.name, live[0], c.Owner)
}

// release removes fn from the holders of ws, deleting a claim it held
// alone. A claim it fails to release goes stale (see claimGrace).
func (r *Registry) release(ctx context.Context, fn string, ws []want) {
	if r.claims == nil {
		return
	}
	for _, w := range ws {
		key := w.key()
		for attempt := 0; attempt < 10; attempt++ {
			e, err := r.claims.Get(ctx, key)
			if err != nil {
				break
			}
			var c claim
			if json.Unmarshal(e.Value, &c) != nil || !slices.Contains(c.Functions, fn) {
				break
			}
			c.Functions = slices.DeleteFunc(c.Functions, func(h string) bool { return h == fn })
			if len(c.Functions) == 0 {
				err = r.claims.Delete(ctx, key, e.Revision)
			} else {
				_, err = r.claims.Update(ctx, key, mustJSON(c), e.Revision)
			}
			if !errors.Is(err, store.ErrConflict) {
				break
			}
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
