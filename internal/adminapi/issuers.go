package adminapi

import (
	"net/http"

	"github.com/pave-dev/pave/client"
)

// listIssuers reports the JWT issuers the daemon trusts. They are daemon
// configuration (--jwt-issuers), not state the admin API changes: the
// report lets pave drift compare them with an app file.
func (h *Handler) listIssuers(w http.ResponseWriter, _ *http.Request) error {
	out := client.IssuerList{Issuers: h.issuers}
	if out.Issuers == nil {
		out.Issuers = []client.Issuer{}
	}
	return writeJSON(w, http.StatusOK, out)
}
