package adminapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/pave-dev/pave/abi"
	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/policy"
	"github.com/pave-dev/pave/internal/registry"
	"github.com/pave-dev/pave/internal/runtime"
)

func (h *Handler) hasBlob(w http.ResponseWriter, r *http.Request) error {
	ok, err := h.reg.HasBlob(r.Context(), r.PathValue("digest"))
	if errors.Is(err, registry.ErrBadDigest) {
		return apierror.New(apierror.BadRequest, "digest must be sha256:<64 lower-case hex digits>")
	}
	if err != nil {
		return err
	}
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// wasmMagic starts every WebAssembly module.
var wasmMagic = []byte("\x00asm")

func (h *Handler) putBlob(w http.ResponseWriter, r *http.Request) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxModuleSize))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return apierror.New(apierror.BodyTooLarge, "modules are limited to %d MiB", MaxModuleSize>>20)
	}
	if err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "the upload could not be read")
	}
	// The module compiles while it is stored and until the deploy that
	// follows asks for it (see Preparer.Preload). Only the bytes the
	// digest names, and only a WebAssembly module: blobs are content
	// addressed, and the compiled module is keyed by the digest.
	if digest := r.PathValue("digest"); bytes.HasPrefix(data, wasmMagic) && registry.Digest(data) == digest {
		h.prep.Preload(digest, data)
	}
	created, err := h.reg.PutBlob(r.Context(), r.PathValue("digest"), data)
	if errors.Is(err, registry.ErrBadDigest) {
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, map[string]string{"digest": r.PathValue("digest")})
}

// deploy serves a deploy and audits it whichever way it ends. A refused
// deploy is recorded with its error code as the reason, and with only what
// the deploy had validated by then (the function's name and owner once
// the manifest parsed, the digest once it was well formed): never the
// client's raw input, which an error message may quote.
func (h *Handler) deploy(w http.ResponseWriter, r *http.Request) error {
	var known deployAudit
	err := h.tryDeploy(w, r, &known)
	if err == nil {
		return nil
	}
	code := apierror.CodeOf(err)
	outcome := audit.Denied
	if code.Status() >= http.StatusInternalServerError {
		outcome = audit.Failed
	}
	details := map[string]string{"reason": string(code), "owner": known.owner, "digest": known.digest}
	h.audit(r, audit.ActionDeploy, known.target, string(outcome), details)
	return err
}

// deployAudit is what a deploy has validated so far, for its audit event.
type deployAudit struct{ target, owner, digest string }

func (h *Handler) tryDeploy(w http.ResponseWriter, r *http.Request, known *deployAudit) error {
	var req client.DeployRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	file := req.ManifestFile
	if file == "" {
		file = "pave.yaml"
	}
	m, err := manifest.Parse(file, []byte(req.Manifest))
	if err != nil {
		// Manifest errors name files, lines and fields of the deployer's
		// own text: they are meant for them.
		return apierror.Wrap(err, apierror.InvalidManifest, "%s", err.Error())
	}
	known.target, known.owner = audit.Ref("function", m.Name), m.Owner
	schemas, err := resolveSchemas(m, req.Files)
	if err != nil {
		return apierror.Wrap(err, apierror.InvalidManifest, "%s", err.Error())
	}
	if err := h.checkWebhookSecrets(m); err != nil {
		return apierror.Wrap(err, apierror.InvalidManifest, "%s", err.Error())
	}
	if !registry.ValidDigest(req.Digest) {
		return apierror.New(apierror.BadRequest, "digest must be sha256:<64 lower-case hex digits>")
	}
	known.digest = req.Digest
	wasm, err := h.reg.Blob(r.Context(), req.Digest)
	if errors.Is(err, registry.ErrBlobNotFound) {
		return apierror.New(apierror.BlobNotFound, "module %s has not been uploaded", req.Digest)
	}
	if err != nil {
		return err
	}
	lim := runtime.Limits{Timeout: m.Limits.Timeout, Memory: m.Limits.Memory, Concurrency: m.Limits.Concurrency}
	// A module that imports a capability group its manifest does not grant
	// is refused here, naming the import.
	mod, err := h.prep.Prepare(r.Context(), req.Digest, wasm, m.Capabilities.Granted, lim)
	var bad *runtime.InvalidModuleError
	if errors.As(err, &bad) {
		return apierror.Wrap(err, apierror.InvalidModule, "%s", bad.Reason)
	}
	if err != nil {
		return err
	}
	if err := h.checkPosture(r.Context(), m, req.Digest, wasm); err != nil {
		return err
	}
	f, added, err := h.reg.Deploy(r.Context(), registry.Deployment{
		Manifest:      m,
		ManifestText:  req.Manifest,
		Digest:        req.Digest,
		Size:          int64(len(wasm)),
		Mode:          string(mod.Mode),
		Isolation:     string(mod.Isolation),
		IsolationNote: mod.FallbackReason,
		Schemas:       schemas,
	})
	if errors.Is(err, registry.ErrRouteConflict) || errors.Is(err, registry.ErrTopicOwned) {
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	}
	if policy.IsRefusal(err) {
		// Names the deployer's own routes, hosts and triggers.
		return apierror.Wrap(err, apierror.PolicyRefused, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	details := map[string]string{"version": fmt.Sprint(f.Active), "digest": req.Digest, "owner": f.Owner}
	status, view := http.StatusCreated, h.view(f, false)
	if !added {
		// The same module and manifest again: nothing to add.
		details["unchanged"] = "true"
		status, view.Unchanged = http.StatusOK, true
	}
	h.log.Info("deployed", "function", f.Name, "version", f.Active, "digest", req.Digest, "unchanged", !added, "request_id", requestID(r))
	h.audit(r, audit.ActionDeploy, audit.Ref("function", f.Name), "ok", details)
	return writeJSON(w, status, view)
}

func (h *Handler) listFunctions(w http.ResponseWriter, _ *http.Request) error {
	fns := h.reg.List()
	out := client.FunctionList{Functions: make([]client.Function, 0, len(fns))}
	for _, f := range fns {
		out.Functions = append(out.Functions, h.view(f, false))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) function(r *http.Request) (*registry.Function, error) {
	name := r.PathValue("name")
	f, ok := h.reg.Get(name)
	if !ok {
		return nil, apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	}
	return f, nil
}

func (h *Handler) getFunction(w http.ResponseWriter, r *http.Request) error {
	f, err := h.function(r)
	if err != nil {
		return err
	}
	out := h.view(f, true)
	for i := range out.Versions {
		text, err := h.reg.Manifest(r.Context(), &f.Versions[i])
		if err != nil {
			return err
		}
		out.Versions[i].Manifest = text
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) removeFunction(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	err := h.reg.Remove(r.Context(), name)
	if errors.Is(err, registry.ErrNotFound) {
		return apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	}
	if err != nil {
		return err
	}
	h.usage.Forget(r.Context(), name)
	if h.budgets != nil {
		if err := h.budgets.Forget(r.Context(), "function:"+name); err != nil {
			h.log.Warn("budget of a removed function not cleared", "function", name, "err", err)
		}
	}
	if err := h.keys.ForgetFunction(r.Context(), name); err != nil {
		// The function is gone; a key that still names it can reach only a
		// later function of that name. Report it: the operator must act.
		return apierror.Wrap(err, apierror.Internal, "the function was removed, but API keys that could call it were not all updated; retry the removal or revoke them")
	}
	h.log.Info("removed", "function", name, "request_id", requestID(r))
	h.audit(r, audit.ActionRemove, audit.Ref("function", name), "ok", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) rollback(w http.ResponseWriter, r *http.Request) error {
	var req client.RollbackRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	f, err := h.reg.Rollback(r.Context(), name, req.Version)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return apierror.New(apierror.FunctionNotFound, "no function named %q", name)
	case errors.Is(err, registry.ErrVersion):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case errors.Is(err, registry.ErrRouteConflict), errors.Is(err, registry.ErrTopicOwned):
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		return err
	}
	h.log.Info("rolled back", "function", name, "version", f.Active, "request_id", requestID(r))
	h.audit(r, audit.ActionRollback, audit.Ref("function", name), "ok", map[string]string{"version": fmt.Sprint(f.Active)})
	return writeJSON(w, http.StatusOK, h.view(f, false))
}

func (h *Handler) invokeFunction(w http.ResponseWriter, r *http.Request) error {
	var req client.InvokeRequest
	if err := decodeJSON(w, r, maxInvokeBody, &req); err != nil {
		return err
	}
	f, err := h.function(r)
	if err != nil {
		return err
	}
	ar := &abi.Request{
		Method:    req.Method,
		Path:      req.Path,
		RawQuery:  req.Query,
		Body:      req.Body,
		Caller:    "admin",
		RequestID: requestID(r),
	}
	if _, err := abi.ParseQuery(ar.RawQuery); err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "query is not a valid URL query, or one that parsers read differently")
	}
	for k, v := range req.Headers {
		ar.Headers = append(ar.Headers, abi.Header{Name: http.CanonicalHeaderKey(k), Value: v})
	}
	// The gateway finds the route, as it does for its own requests.
	resp, err := h.invoke.Call(r.Context(), f.Name, ar)
	if err != nil {
		return err
	}
	out := client.InvokeResponse{Status: resp.Status, Body: resp.Body, RequestID: ar.RequestID, Headers: map[string][]string{}}
	for _, hd := range resp.Headers {
		name := http.CanonicalHeaderKey(hd.Name)
		out.Headers[name] = append(out.Headers[name], hd.Value)
	}
	return writeJSON(w, http.StatusOK, out)
}

// view converts a registry record to the API's shape.
func (h *Handler) view(f *registry.Function, versions bool) client.Function {
	v := f.Current()
	out := client.Function{
		Name:          f.Name,
		Owner:         f.Owner,
		Description:   f.Description,
		Version:       f.Active,
		Digest:        v.Digest,
		Mode:          v.Mode,
		Isolation:     v.Isolation,
		IsolationNote: v.IsolationNote,
		Routes:        make([]client.Route, 0, len(v.Routes)),
		Limits: client.Limits{
			TimeoutMS:    v.Limits.Timeout.Milliseconds(),
			MemoryBytes:  v.Limits.Memory,
			Concurrency:  v.Limits.Concurrency,
			MaxBodyBytes: v.Limits.MaxBody,
		},
		CreatedAt: f.CreatedAt,
		UpdatedAt: f.UpdatedAt,
	}
	for _, rt := range v.Routes {
		out.Routes = append(out.Routes, client.Route{Method: rt.Method, Path: rt.Path, Public: rt.Public, Auth: rt.Auth})
		out.Public = out.Public || rt.Public
	}
	if t, ok := h.usage.LastInvoked(f.Name); ok {
		out.LastInvoked = &t
	}
	out.Invocations7d, out.Invocations30d = h.usage.Invocations(f.Name, 7), h.usage.Invocations(f.Name, 30)
	if q := f.Quarantine; q != nil {
		out.Quarantine = &client.Quarantine{At: q.At, By: q.By, Reason: q.Reason}
	}
	if c := v.Capabilities; c.Secrets != nil || c.KV != nil || c.HTTP != nil || c.Invoke != nil || c.Publish != nil {
		out.Capabilities = &client.Capabilities{Secrets: c.Secrets, KV: c.KV, HTTP: c.HTTP, Invoke: c.Invoke, Publish: c.Publish}
	}
	for _, t := range v.Triggers {
		out.Triggers = append(out.Triggers, client.Trigger{Topic: t.Topic, Schedule: t.Schedule, Timezone: t.Timezone, Missed: t.Missed})
	}
	if versions {
		for _, ver := range f.Versions {
			out.Versions = append(out.Versions, client.Version{
				Number: ver.Number, Digest: ver.Digest, Size: ver.Size, Mode: ver.Mode, Isolation: ver.Isolation,
				DeployedAt: ver.DeployedAt,
			})
		}
	}
	return out
}
