// Package egress makes the outbound HTTP requests of functions granted the
// http capability, and is built so that a grant cannot be turned into a way
// into the daemon's own network (server-side request forgery).
//
// A function's manifest lists the hosts it may call:
//
//	capabilities:
//	  http: ["api.example.com", "*.example.org:8443"]
//
// ParseGrant turns each entry into a Grant. The daemon holds one Client,
// made from the operator's Policy, and opens a Session per invocation with
// the function's grants; Session.Do makes one request.
//
// What a request must pass, in order:
//
//   - The URL is absolute, http or https, without user information, and
//     its host is a DNS name or an IP address written in a form nobody can
//     read two ways. Numbers in the old inet_aton forms (127.1, 0x7f.1,
//     0177.0.0.1, 2130706433) are read as the IPv4 addresses they mean, the
//     way browsers and the C library do, and then checked like any other
//     address; they are never handed to a resolver as names.
//   - The host and port match a grant. A grant without a port allows the
//     default port of the URL's scheme only (80 for http, 443 for https).
//     "*.example.org" matches names with one or more labels in front of
//     example.org (a.example.org, a.b.example.org) but not example.org
//     itself. IP address grants count only when Policy.AllowIPGrants is set.
//   - The invocation has requests left: every request, and every redirect
//     it follows, counts against Policy.MaxRequests.
//   - Every address the host resolves to is allowed by CheckAddr. pave
//     resolves names itself (Policy.Resolver) and connects only to an
//     address it has checked, so a name that answers differently the second
//     time it is looked up (DNS rebinding) cannot move the connection. The
//     dialer then checks the socket address once more just before the
//     connect system call.
//
// CheckAddr refuses every address that is not plainly a public unicast
// one: loopback, unspecified, private, link-local, shared (CGNAT),
// multicast, broadcast, reserved, documentation and benchmarking ranges,
// the cloud metadata addresses, and IPv6 addresses that embed a refused
// IPv4 address (IPv4-mapped and -translated, NAT64 64:ff9b::/96, 6to4).
// Policy.AllowPrivate opens the private-use ranges and Policy.AllowedNets
// opens any prefix the operator names; neither can open the unspecified,
// multicast or broadcast addresses, which no connection should go to.
//
// Redirects are followed up to MaxRedirects, and each one passes the same
// checks as the first request. Proxy environment variables are ignored,
// certificates are verified against the system roots with TLS 1.2 or newer,
// no cookie jar is kept and pave adds no credentials of its own. Hop-by-hop
// headers of the function's request are dropped, and Host always comes from
// the URL.
//
// The Client's connections are pooled by scheme and host:port across
// sessions. That is safe because the policy is the daemon's, not the
// function's: a connection was only ever dialled to an address the policy
// allows, and every request is checked against its own session's grants
// before a pooled connection is looked up.
//
// Errors are returned to the function, so they are short, say which rule
// refused the request, and never contain response bodies, header values
// or the URL's path and query. Test for them with errors.Is and the
// sentinel errors below.
package egress
