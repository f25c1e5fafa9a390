package adminapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/secret"
	"github.com/pave-dev/pave/internal/secrets"
)

// Secrets is the encrypted secrets store as the admin API drives it. There
// is deliberately no way to read a value: functions read the secrets they
// are granted, and nobody else.
type Secrets interface {
	Set(ctx context.Context, name string, value secret.Value) (int, error)
	List(ctx context.Context) ([]secrets.Info, error)
	// Stat describes one secret, or fails with secrets.ErrNotFound.
	Stat(ctx context.Context, name string) (secrets.Info, error)
	Remove(ctx context.Context, name string) error
	// RotateMaster re-wraps every data key under a new master key and
	// returns the old and new key ids and how many versions it re-wrapped.
	RotateMaster(ctx context.Context) (oldID, newID string, n int, err error)
}

func (h *Handler) secretInfo(in secrets.Info) client.SecretInfo {
	out := client.SecretInfo{Name: in.Name, CreatedAt: in.CreatedAt, RotatedAt: in.RotatedAt, GrantedTo: []string{}}
	for _, v := range in.Versions {
		out.Versions = append(out.Versions, client.SecretVersion{Number: v.Number, CreatedAt: v.CreatedAt})
	}
	for _, f := range h.reg.List() {
		if slices.Contains(f.Current().Capabilities.Secrets, in.Name) {
			out.GrantedTo = append(out.GrantedTo, f.Name)
		}
	}
	sort.Strings(out.GrantedTo)
	return out
}

func (h *Handler) setSecret(w http.ResponseWriter, r *http.Request) error {
	if h.secretStore == nil {
		return apierror.New(apierror.Unavailable, "the secrets store is not available on this daemon")
	}
	name := r.PathValue("name")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, secrets.MaxValueLen+1))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || len(body) > secrets.MaxValueLen {
		return apierror.New(apierror.BodyTooLarge, "a secret value is at most %d bytes", secrets.MaxValueLen)
	}
	if err != nil {
		return apierror.Wrap(err, apierror.BadRequest, "the value could not be read")
	}
	version, err := h.secretStore.Set(r.Context(), name, secret.Value(body))
	clear(body)
	switch {
	case errors.Is(err, secrets.ErrInvalidName), errors.Is(err, secrets.ErrInvalidValue):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case errors.Is(err, secrets.ErrWrongMasterKey):
		// The message names key ids and the secret, never a value.
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		return err
	}
	h.log.Info("secret set", "audit", true, "secret", name, "version", version, "request_id", requestID(r))
	h.audit(r, audit.ActionSecretSet, audit.Ref("secret", name), "ok", map[string]string{"version": fmt.Sprint(version)})
	return h.writeSecret(w, r, name)
}

// writeSecret answers with the metadata of name, read from its record:
// a listing of the bucket's keys, made right after the write, could miss
// it while the store recovers from an outage, and a write acknowledged
// would be answered 404.
func (h *Handler) writeSecret(w http.ResponseWriter, r *http.Request, name string) error {
	in, err := h.secretStore.Stat(r.Context(), name)
	if errors.Is(err, secrets.ErrNotFound) {
		return apierror.New(apierror.NotFound, "no secret named %q", name)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, h.secretInfo(in))
}

func (h *Handler) listSecrets(w http.ResponseWriter, r *http.Request) error {
	if h.secretStore == nil {
		return apierror.New(apierror.Unavailable, "the secrets store is not available on this daemon")
	}
	list, err := h.secretStore.List(r.Context())
	if err != nil {
		return err
	}
	out := client.SecretList{Secrets: make([]client.SecretInfo, 0, len(list))}
	for _, in := range list {
		out.Secrets = append(out.Secrets, h.secretInfo(in))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) removeSecret(w http.ResponseWriter, r *http.Request) error {
	if h.secretStore == nil {
		return apierror.New(apierror.Unavailable, "the secrets store is not available on this daemon")
	}
	name := r.PathValue("name")
	err := h.secretStore.Remove(r.Context(), name)
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		return apierror.New(apierror.NotFound, "no secret named %q", name)
	case errors.Is(err, secrets.ErrInvalidName):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	h.log.Info("secret removed", "audit", true, "secret", name, "request_id", requestID(r))
	h.audit(r, audit.ActionSecretRemove, audit.Ref("secret", name), "ok", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) rotateMaster(w http.ResponseWriter, r *http.Request) error {
	if h.secretStore == nil {
		return apierror.New(apierror.Unavailable, "the secrets store is not available on this daemon")
	}
	oldID, newID, n, err := h.secretStore.RotateMaster(r.Context())
	if errors.Is(err, ErrMasterKeyFromEnv) {
		return apierror.Wrap(err, apierror.Conflict, "the master key comes from the environment; rotate it there and restart")
	}
	if errors.Is(err, ErrNoNextKey) || errors.Is(err, secrets.ErrWrongMasterKey) {
		// The message names key ids and files, never a key.
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	}
	if err != nil {
		h.log.Error("master key rotation failed", "audit", true, "err", err, "request_id", requestID(r))
		h.audit(r, audit.ActionMasterKeyRotate, "", "failed", nil)
		if apierror.IsOutage(err) {
			return &apierror.Error{Code: apierror.Unavailable, Message: "the store cannot be reached; the rotation did not finish and the old master key still opens every secret; retry later", Cause: err, RetryAfter: 1}
		}
		return apierror.Wrap(err, apierror.Internal, "the rotation failed; the old master key still opens every secret")
	}
	h.log.Info("master key rotated", "audit", true, "old_key", oldID, "new_key", newID, "rewrapped", n, "request_id", requestID(r))
	h.audit(r, audit.ActionMasterKeyRotate, "", "ok", map[string]string{"old_key": oldID, "new_key": newID, "rewrapped": fmt.Sprint(n)})
	return writeJSON(w, http.StatusOK, client.RotateMasterResponse{OldKeyID: oldID, NewKeyID: newID, Rewrapped: n})
}

// ErrMasterKeyFromEnv is returned by RotateMaster when the daemon was given
// its master key rather than a file it can replace.
var ErrMasterKeyFromEnv = errors.New("master key given by the environment")

// ErrNoNextKey is returned by RotateMaster when the store is shared with
// other nodes and the new key was not given to this one first.
var ErrNoNextKey = errors.New("no next master key")

// ErrNoNextAuditKey is returned by AuditLog.RotateKey when the next audit
// key is missing on this node, or a node of the cluster lacks it.
var ErrNoNextAuditKey = errors.New("no next audit key")
