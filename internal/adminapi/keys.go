package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pave-dev/pave/client"
	"github.com/pave-dev/pave/internal/apierror"
	"github.com/pave-dev/pave/internal/audit"
	"github.com/pave-dev/pave/internal/identity"
)

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) error {
	var req client.CreateKeyRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return apierror.New(apierror.BadRequest, "expires_in must be a positive duration such as 720h")
		}
		ttl = d
	}
	for _, fn := range req.Functions {
		if _, ok := h.reg.Get(fn); !ok {
			return apierror.New(apierror.FunctionNotFound, "no function named %q", fn)
		}
	}
	secret, key, err := h.keys.Create(r.Context(), req.Name, req.Functions, identity.KeyOptions{TTL: ttl, Scopes: req.Scopes, CIDRs: req.CIDRs})
	switch {
	case errors.Is(err, identity.ErrInvalidKey):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case errors.Is(err, identity.ErrKeyExists):
		return apierror.Wrap(err, apierror.Conflict, "%s", err.Error())
	case err != nil:
		return err
	}
	h.log.Info("key created", "key", key.Name, "functions", key.Functions, "scopes", key.Scopes, "cidrs", key.CIDRs, "request_id", requestID(r))
	h.audit(r, audit.ActionKeyCreate, audit.Ref("key", key.Name), "ok", map[string]string{"functions": strings.Join(key.Functions, ","), "scopes": strings.Join(key.Scopes, ",")})
	return writeJSON(w, http.StatusCreated, client.CreateKeyResponse{Key: keyView(key), Secret: secret.Reveal()})
}

func (h *Handler) listKeys(w http.ResponseWriter, _ *http.Request) error {
	keys := h.keys.List()
	out := client.KeyList{Keys: make([]client.Key, 0, len(keys))}
	for i := range keys {
		out.Keys = append(out.Keys, keyView(&keys[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	err := h.keys.Revoke(r.Context(), name)
	if errors.Is(err, identity.ErrKeyNotFound) {
		return apierror.New(apierror.KeyNotFound, "no key named %q", name)
	}
	if err != nil {
		return err
	}
	h.log.Info("key revoked", "key", name, "request_id", requestID(r))
	h.audit(r, audit.ActionKeyRevoke, audit.Ref("key", name), "ok", nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) updateKey(w http.ResponseWriter, r *http.Request) error {
	var req client.UpdateKeyRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	name := r.PathValue("name")
	// A function that is not deployed cannot be granted; one that is gone
	// can be removed from the key all the same.
	for _, fn := range req.AddFunctions {
		if _, ok := h.reg.Get(fn); !ok {
			return apierror.New(apierror.FunctionNotFound, "no function named %q", fn)
		}
	}
	key, err := h.keys.UpdateFunctions(r.Context(), name, req.AddFunctions, req.RemoveFunctions)
	switch {
	case errors.Is(err, identity.ErrKeyNotFound):
		return apierror.New(apierror.KeyNotFound, "no key named %q", name)
	case errors.Is(err, identity.ErrKeyRevoked):
		return apierror.Wrap(err, apierror.Conflict, "key %q is revoked; create a new one", name)
	case errors.Is(err, identity.ErrInvalidKey):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	h.log.Info("key updated", "key", key.Name, "functions", key.Functions, "request_id", requestID(r))
	h.audit(r, audit.ActionKeyUpdate, audit.Ref("key", key.Name), "ok", map[string]string{
		"functions": strings.Join(key.Functions, ","),
		"added":     strings.Join(req.AddFunctions, ","),
		"removed":   strings.Join(req.RemoveFunctions, ","),
	})
	return writeJSON(w, http.StatusOK, keyView(key))
}

func keyView(k *identity.Key) client.Key {
	return client.Key{
		Name:      k.Name,
		Functions: k.Functions,
		Scopes:    k.Scopes,
		CIDRs:     k.CIDRs,
		CreatedAt: k.CreatedAt,
		ExpiresAt: k.ExpiresAt,
		Revoked:   k.RevokedAt != nil,
		RevokedAt: k.RevokedAt,
	}
}

// replaceKey replaces an active key's functions, scopes, networks and
// expiry, keeping its secret: what an app file declares of a key.
func (h *Handler) replaceKey(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var req client.ReplaceKeyRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	for _, fn := range req.Functions {
		if _, ok := h.reg.Get(fn); !ok {
			return apierror.New(apierror.FunctionNotFound, "no function named %q", fn)
		}
	}
	key, err := h.keys.Replace(r.Context(), name, identity.KeyChange{Functions: req.Functions, Scopes: req.Scopes, CIDRs: req.CIDRs, ExpiresAt: req.ExpiresAt})
	switch {
	case errors.Is(err, identity.ErrKeyNotFound):
		return apierror.New(apierror.KeyNotFound, "no key named %q", name)
	case errors.Is(err, identity.ErrInvalidKey):
		return apierror.Wrap(err, apierror.BadRequest, "%s", err.Error())
	case err != nil:
		return err
	}
	expires := "never"
	if key.ExpiresAt != nil {
		expires = key.ExpiresAt.Format(time.RFC3339)
	}
	h.log.Info("key updated", "key", key.Name, "functions", key.Functions, "scopes", key.Scopes, "cidrs", key.CIDRs, "request_id", requestID(r))
	h.audit(r, audit.ActionKeyUpdate, audit.Ref("key", key.Name), "ok", map[string]string{
		"functions": strings.Join(key.Functions, ","), "scopes": strings.Join(key.Scopes, ","),
		"cidrs": strings.Join(key.CIDRs, ","), "expires": expires,
	})
	return writeJSON(w, http.StatusOK, keyView(key))
}
