package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/store"
)

// Deploy adds d as a new version of its function and makes it active,
// and reports that with added true. A deploy of what the active version
// is already (the same module, manifest text, schemas and compilation) is
// a no-op: no version is added, and added is false. It refuses a manifest
// that the admission function (AdmitWith) refuses, and routes that collide
// with another function's active routes.
func (r *Registry) Deploy(ctx context.Context, d Deployment) (f *Function, added bool, err error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	m := d.Manifest
	if r.admit != nil {
		if err := r.admit(ctx, m); err != nil {
			return nil, false, err
		}
	}
	if err := r.checkRoutes(ctx, m); err != nil {
		return nil, false, err
	}
	if err := r.checkTopics(m); err != nil {
		return nil, false, err
	}
	next := wants(m.Routes, (&Version{Triggers: m.Triggers, Capabilities: m.Capabilities}).Topics(), m.Owner)
	taken, err := r.claimAll(ctx, m.Name, next)
	if err != nil {
		return nil, false, err
	}
	f, prev, added, err := r.deploy(ctx, d)
	if err != nil {
		r.release(context.WithoutCancel(ctx), m.Name, taken)
		return nil, false, err
	}
	r.releaseUnused(ctx, m.Name, versionWants(prev), next)
	return f, added, nil
}

// deploy stores d as the new active version of its function unless it is
// the active version already, and returns the version that was active
// before (nil for a new function).
func (r *Registry) deploy(ctx context.Context, d Deployment) (f *Function, prev *Version, added bool, err error) {
	m := d.Manifest
	if ok, err := r.blobs.Has(ctx, blobName(d.Digest)); err != nil {
		return nil, nil, false, err
	} else if !ok {
		return nil, nil, false, fmt.Errorf("%w: %s (upload it first)", ErrBlobNotFound, d.Digest)
	}
	for digest, text := range d.Schemas {
		if got := Digest(text); got != digest {
			return nil, nil, false, fmt.Errorf("schema digest %s does not match its text (%s)", digest, got)
		}
		if _, err := r.PutBlob(ctx, digest, text); err != nil {
			return nil, nil, false, fmt.Errorf("store schema: %w", err)
		}
	}
	text := []byte(d.ManifestText)
	manifestDigest := Digest(text)
	if _, err := r.PutBlob(ctx, manifestDigest, text); err != nil {
		return nil, nil, false, fmt.Errorf("store manifest: %w", err)
	}
	now := r.now().UTC()
	f, err = r.update(ctx, m.Name, true, func(f *Function) error {
		prev, added = nil, false
		v := Version{
			Digest:         d.Digest,
			Size:           d.Size,
			Mode:           d.Mode,
			Isolation:      d.Isolation,
			IsolationNote:  d.IsolationNote,
			DeployedAt:     now,
			ManifestDigest: manifestDigest,
			ManifestFile:   m.File,
			Owner:          m.Owner,
			Description:    m.Description,
			Routes:         m.Routes,
			Limits:         m.Limits,
			RateLimit:      m.RateLimit,
			Budget:         m.Budget,
			Capabilities:   m.Capabilities,
			Triggers:       m.Triggers,
			Async:          m.Async,
		}
		if cur := f.Current(); cur != nil {
			c := *cur
			prev = &c
			if sameDeploy(cur, &v) {
				return errNoChange
			}
		}
		if f.CreatedAt.IsZero() {
			f.CreatedAt = now
		}
		v.Number = 1
		if n := len(f.Versions); n > 0 {
			v.Number = f.Versions[n-1].Number + 1
		}
		f.Versions = append(f.Versions, v)
		if n := len(f.Versions); n > MaxVersions {
			f.Versions = slices.Clone(f.Versions[n-MaxVersions:])
		}
		f.Active = v.Number
		added = true
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	return f, prev, added, nil
}

// sameDeploy reports whether a and b are the same deploy: everything but
// their numbers and times is the same.
func sameDeploy(a, b *Version) bool {
	x, y := *a, *b
	x.Number, y.Number = 0, 0
	x.DeployedAt, y.DeployedAt = time.Time{}, time.Time{}
	bx, errx := json.Marshal(&x)
	by, erry := json.Marshal(&y)
	return errx == nil && erry == nil && bytes.Equal(bx, by)
}

// Rollback makes version the active one; version 0 means the one before
// the active version.
func (r *Registry) Rollback(ctx context.Context, name string, version int) (*Function, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	cur, ok := r.Get(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if version == 0 {
		// The version before the active one among those kept.
		for _, v := range cur.Versions {
			if v.Number < cur.Active {
				version = v.Number
			}
		}
	}
	v := cur.Version(version)
	if v == nil {
		return nil, fmt.Errorf("%w: %q keeps versions %d to %d", ErrVersion, name, cur.Versions[0].Number, cur.Versions[len(cur.Versions)-1].Number)
	}
	if err := r.checkRoutes(ctx, &manifest.Manifest{Name: name, File: v.ManifestFile, Routes: v.Routes}); err != nil {
		return nil, err
	}
	if err := r.checkTopics(&manifest.Manifest{Name: name, Owner: cur.Owner, Triggers: v.Triggers, Capabilities: v.Capabilities}); err != nil {
		return nil, err
	}
	next := versionWants(v)
	taken, err := r.claimAll(ctx, name, next)
	if err != nil {
		return nil, err
	}
	var prev *Version
	f, err := r.update(ctx, name, false, func(f *Function) error {
		if f.Version(version) == nil {
			return fmt.Errorf("%w: %q no longer keeps version %d", ErrVersion, name, version)
		}
		prev = nil
		if cur := f.Current(); cur != nil {
			c := *cur
			prev = &c
		}
		f.Active = version
		return nil
	})
	if err != nil {
		r.release(context.WithoutCancel(ctx), name, taken)
		return nil, err
	}
	r.releaseUnused(ctx, name, versionWants(prev), next)
	return f, nil
}

// ErrQuarantine is returned for quarantining a function already in
// quarantine, or restoring one that is not.
var ErrQuarantine = errors.New("quarantine")

// SetQuarantine puts function name in quarantine (q set) or restores it
// (q nil).
func (r *Registry) SetQuarantine(ctx context.Context, name string, q *Quarantine) (*Function, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if _, ok := r.Get(name); !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return r.update(ctx, name, false, func(f *Function) error {
		switch {
		case q != nil && f.Quarantine != nil:
			return fmt.Errorf("%w: %q is already in quarantine since %s", ErrQuarantine, name, f.Quarantine.At.UTC().Format(time.RFC3339))
		case q == nil && f.Quarantine == nil:
			return fmt.Errorf("%w: %q is not in quarantine", ErrQuarantine, name)
		}
		f.Quarantine = q
		return nil
	})
}

// Remove deletes function name and all of its versions. Blobs stay: other
// versions or functions may share them.
func (r *Registry) Remove(ctx context.Context, name string) error {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	e, err := r.records.Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if err != nil {
		return err
	}
	if err := r.records.Delete(ctx, name, e.Revision); err != nil {
		return err
	}
	var removed Function
	if json.Unmarshal(e.Value, &removed) == nil {
		r.release(ctx, name, versionWants(removed.Current()))
	}
	// The delete marker's revision is unknown here; the watch delivers it.
	// Drop the cache entry now so the route disappears at once.
	r.mu.Lock()
	delete(r.fns, name)
	hooks := r.onChange
	r.mu.Unlock()
	for _, h := range hooks {
		h()
	}
	return nil
}

// errNoChange, returned by an update's change, leaves the record as it is.
var errNoChange = errors.New("no change")

// update applies change to the stored record of name under optimistic
// concurrency, retrying when another writer got there first. create allows
// the record not to exist yet.
func (r *Registry) update(ctx context.Context, name string, create bool, change func(*Function) error) (*Function, error) {
	for attempt := 0; attempt < 10; attempt++ {
		e, err := r.records.Get(ctx, name)
		f := &Function{Name: name}
		switch {
		case errors.Is(err, store.ErrNotFound):
			if !create {
				return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
			}
		case err != nil:
			return nil, err
		default:
			if err := json.Unmarshal(e.Value, f); err != nil {
				return nil, fmt.Errorf("function record %q: %w", name, err)
			}
		}
		if err := change(f); errors.Is(err, errNoChange) {
			return f, nil
		} else if err != nil {
			return nil, err
		}
		cur := f.Current()
		f.Owner, f.Description = cur.Owner, cur.Description
		f.UpdatedAt = r.now().UTC()
		val, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		var rev uint64
		if e.Revision == 0 {
			rev, err = r.records.Create(ctx, name, val)
		} else {
			rev, err = r.records.Update(ctx, name, val, e.Revision)
		}
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrExists) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r.set(name, f, rev, true)
		return f, nil
	}
	return nil, fmt.Errorf("function %q is being changed concurrently; try again", name)
}

// checkRoutes refuses m when one of its routes collides with an active route
// of another function, unless m holds that route's claim. Collisions
// between other functions (stored by a version of pave without claims)
// are not m's and do not refuse it.
func (r *Registry) checkRoutes(ctx context.Context, m *manifest.Manifest) error {
	if err := manifest.CheckRoutes([]*manifest.Manifest{m}); err != nil {
		return fmt.Errorf("%w: %v", ErrRouteConflict, err)
	}
	var errs manifest.ErrorList
	for _, f := range r.List() {
		if f.Name == m.Name {
			continue
		}
		v := f.Current()
		other := &manifest.Manifest{Name: f.Name, File: v.ManifestFile, Routes: v.Routes}
		var list manifest.ErrorList
		if !errors.As(manifest.CheckRoutes([]*manifest.Manifest{m, other}), &list) {
			continue
		}
		for _, e := range list {
			// Each error is about a route of other, routes[i].
			var i int
			if _, err := fmt.Sscanf(e.Field, "routes[%d]", &i); err == nil && i < len(v.Routes) &&
				r.holds(ctx, m.Name, want{kind: "route", name: v.Routes[i].Pattern()}) {
				continue
			}
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %v", ErrRouteConflict, errs)
	}
	return nil
}

// Trigger returns v's trigger with the key (manifest.Trigger.Key).
func (v *Version) Trigger(key string) (manifest.Trigger, bool) {
	for _, t := range v.Triggers {
		if t.Key() == key {
			return t, true
		}
	}
	return manifest.Trigger{}, false
}

// Topics returns the topics v subscribes to (its topic triggers) and
// publishes to (its publish grants).
func (v *Version) Topics() []string {
	var topics []string
	for _, t := range v.Triggers {
		if t.Topic != "" {
			topics = append(topics, t.Topic)
		}
	}
	return append(topics, v.Capabilities.Publish...)
}

// checkTopics refuses m when it subscribes or publishes to a topic that a
// function of another owner subscribes or publishes to. A topic belongs to
// one owner: otherwise one team's manifest could read another's events by
// subscribing, or inject into another's flow by publishing.
func (r *Registry) checkTopics(m *manifest.Manifest) error {
	mine := (&Version{Triggers: m.Triggers, Capabilities: m.Capabilities}).Topics()
	if len(mine) == 0 {
		return nil
	}
	for _, f := range r.List() {
		if f.Name == m.Name || f.Owner == m.Owner {
			continue
		}
		for _, topic := range f.Current().Topics() {
			if slices.Contains(mine, topic) {
				return fmt.Errorf("%w: topic %q is used by function %q of owner %q; a topic's publishers and subscribers must have one owner", ErrTopicOwned, topic, f.Name, f.Owner)
			}
		}
	}
	return nil
}
