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

// resolveSchemas finds the text of every schema m's routes declare (inline,
// or in files sent with the deploy), compiles each so that a bad schema
// fails the deploy with its location, and records each one's digest in its
// route. It returns the schema texts by digest.
func resolveSchemas(m *manifest.Manifest, files map[string]string) (map[string][]byte, error) {
	if len(files) > MaxDeployFiles {
		return nil, fmt.Errorf("%d files sent with the manifest; at most %d", len(files), MaxDeployFiles)
	}
	out := map[string][]byte{}
	var errs []error
	for i := range m.Routes {
		rt := &m.Routes[i]
		if rt.Schema == nil {
			continue
		}
		for _, s := range []struct {
			name string
			ref  *manifest.SchemaRef
		}{{"body", rt.Schema.Body}, {"query", rt.Schema.Query}} {
			if s.ref == nil {
				continue
			}
			at := fmt.Sprintf("%s:%d:%d: routes[%d].schema.%s", m.File, s.ref.Line, s.ref.Column, i, s.name)
			text := s.ref.Inline
			name := at
			if s.ref.File != "" {
				f, ok := files[s.ref.File]
				if !ok {
					errs = append(errs, fmt.Errorf("%s: schema file %q was not sent with the manifest", at, s.ref.File))
					continue
				}
				if len(f) > manifest.MaxSchemaFileSize {
					errs = append(errs, fmt.Errorf("%s: schema file %q is larger than %d bytes", at, s.ref.File, manifest.MaxSchemaFileSize))
					continue
				}
				text, name = []byte(f), s.ref.File
			}
			if _, err := contract.Compile(name, text); err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid schema: %w", at, err))
				continue
			}
			s.ref.Digest = registry.Digest(text)
			out[s.ref.Digest] = text
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
