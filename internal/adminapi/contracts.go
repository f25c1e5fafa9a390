package adminapi

import (
	"errors"
	"fmt"

	"github.com/pave-dev/pave/internal/contract"
	"github.com/pave-dev/pave/internal/manifest"
	"github.com/pave-dev/pave/internal/registry"
)

// MaxDeployFiles bounds the files a deploy may carry next to its manifest.
const MaxDeployFiles = 64

// resolveSchemas finds the text of every schema m's routes and triggers declare (inline,
// or in files sent with the deploy), compiles each so that a bad schema
// fails the deploy with its location, and records each one's digest in its
// route. It returns the schema texts by digest.
func resolveSchemas(m *manifest.Manifest, files map[string]string) (map[string][]byte, error) {
	if len(files) > MaxDeployFiles {
		return nil, fmt.Errorf("%d files sent with the manifest; at most %d", len(files), MaxDeployFiles)
	}
	out := map[string][]byte{}
	var errs []error
	resolve := func(ref *manifest.SchemaRef, field string) {
		at := fmt.Sprintf("%s:%d:%d: %s", m.File, ref.Line, ref.Column, field)
		text := ref.Inline
		name := at
		if ref.File != "" {
			f, ok := files[ref.File]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: schema file %q was not sent with the manifest", at, ref.File))
				return
			}
			if len(f) > manifest.MaxSchemaFileSize {
				errs = append(errs, fmt.Errorf("%s: schema file %q is larger than %d bytes", at, ref.File, manifest.MaxSchemaFileSize))
				return
			}
			text, name = []byte(f), ref.File
		}
		if _, err := contract.Compile(name, text); err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid schema: %w", at, err))
			return
		}
		ref.Digest = registry.Digest(text)
		out[ref.Digest] = text
	}
	for i := range m.Routes {
		rt := &m.Routes[i]
		if rt.Schema == nil {
			continue
		}
		if rt.Schema.Body != nil {
			resolve(rt.Schema.Body, fmt.Sprintf("routes[%d].schema.body", i))
		}
		if rt.Schema.Query != nil {
			resolve(rt.Schema.Query, fmt.Sprintf("routes[%d].schema.query", i))
		}
	}
	for i := range m.Triggers {
		if ref := m.Triggers[i].Schema; ref != nil {
			resolve(ref, fmt.Sprintf("triggers[%d].schema", i))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// checkWebhookSecrets refuses a manifest whose webhook routes name secret
// files the daemon cannot use, so that the mistake shows at deploy rather
// than as refused deliveries.
func (h *Handler) checkWebhookSecrets(m *manifest.Manifest) error {
	var errs []error
	for i, rt := range m.Routes {
		if rt.Webhook == nil {
			continue
		}
		if h.secrets == nil {
			errs = append(errs, fmt.Errorf("%s:%d: routes[%d].webhook: this daemon has no source of webhook secrets", m.File, rt.Line, i))
			continue
		}
		if _, err := h.secrets.WebhookSecrets(rt.Webhook.SecretFile); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: routes[%d].webhook.secret_file: %v", m.File, rt.Line, i, err))
		}
	}
	return errors.Join(errs...)
}
